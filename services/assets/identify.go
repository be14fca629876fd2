package assets

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/media"
	"golang.org/x/image/font/sfnt"
)

// identify says what the file at path is, or why it cannot be used.
func (s *Store) identify(ctx context.Context, path string, size int64, declared string) (*Asset, error) {
	head, err := readHead(path, 512)
	if err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "reading the upload back")
	}
	if ct := fontType(head); ct != "" {
		return s.identifyFont(path, size, ct)
	}
	info, err := s.prober.Probe(ctx, path, errcode.AssetUnsupported)
	if err != nil {
		return nil, err
	}
	a := &Asset{Kind: KindImage, Width: info.Width, Height: info.Height, Duration: info.Duration}
	switch info.Kind {
	case media.KindVideo:
		a.Kind = KindVideo
	case media.KindAnimated:
		a.Animated = true
	}
	a.ContentType = contentType(head, info, declared)
	return a, nil
}

// fontType recognises an sfnt font by its first four bytes: TrueType
// (00 01 00 00 or 'true'), CFF OpenType ('OTTO') or a collection ('ttcf').
func fontType(head []byte) string {
	if len(head) < 4 {
		return ""
	}
	switch string(head[:4]) {
	case "\x00\x01\x00\x00", "true":
		return "font/ttf"
	case "OTTO":
		return "font/otf"
	case "ttcf":
		return "font/collection"
	}
	return ""
}

// identifyFont parses the font as the text renderer will (a font, or the
// first font of a collection) so that a broken file is refused at upload.
func (s *Store) identifyFont(path string, size int64, ct string) (*Asset, error) {
	limit := s.MaxFontBytes
	if limit <= 0 {
		limit = DefaultMaxFontBytes
	}
	if size > limit {
		return nil, errcode.New(errcode.AssetTooLarge, "the font is %d bytes, at most %d", size, limit)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "reading the upload back")
	}
	if err := parseFont(src); err != nil {
		return nil, errcode.Wrap(errcode.AssetUnsupported, err, "not a readable TrueType or OpenType font: %v", err)
	}
	return &Asset{Kind: KindFont, ContentType: ct}, nil
}

func parseFont(src []byte) error {
	f, err := sfnt.Parse(src)
	if err != nil {
		c, cerr := sfnt.ParseCollection(src)
		if cerr != nil || c.NumFonts() < 1 {
			return err
		}
		if f, err = c.Font(0); err != nil {
			return err
		}
	}
	if upem := f.UnitsPerEm(); upem < 16 || upem > 16384 {
		return errors.New("units per em out of range")
	}
	return nil
}

// containerTypes names the media type of ffprobe containers that
// http.DetectContentType does not know.
var containerTypes = map[string]string{
	"mov,mp4,m4a,3gp,3g2,mj2": "video/mp4",
	"matroska,webm":           "video/webm",
	"avi":                     "video/x-msvideo",
	"mpegts":                  "video/mp2t",
	"gif":                     "image/gif",
	"apng":                    "image/apng",
	"png_pipe":                "image/png",
	"jpeg_pipe":               "image/jpeg",
	"webp":                    "image/webp",
}

// contentType prefers what the bytes say, then what ffprobe found, then the
// client's claim when it names a video or an image.
func contentType(head []byte, info media.Info, declared string) string {
	if ct := http.DetectContentType(head); ct != "application/octet-stream" && !strings.HasPrefix(ct, "text/") {
		if t, _, err := mime.ParseMediaType(ct); err == nil {
			return t
		}
	}
	if ct, ok := containerTypes[info.Container]; ok {
		return ct
	}
	if t, _, err := mime.ParseMediaType(declared); err == nil && (strings.HasPrefix(t, "video/") || strings.HasPrefix(t, "image/")) {
		return t
	}
	return "application/octet-stream"
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var b bytes.Buffer
	if _, err := io.CopyN(&b, f, int64(n)); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b.Bytes(), nil
}
