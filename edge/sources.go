package edge

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	_ "image/jpeg" // uploaded JPEG stickers
	_ "image/png"  // PNG stickers, builtin stills
	"io"
	"math"
	"time"

	xdraw "golang.org/x/image/draw"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/animwebp"
	"github.com/stickerd/stickerd/render/builtin"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/render/text"
)

// maxSourcePixels bounds the decoded frames of one animated sticker.
const maxSourcePixels = 64 << 20

// source is a sticker's picture: one frame for stills, several with
// delays for animations, or text that is drawn for the frame's height.
type source struct {
	frames []*image.NRGBA
	delays []time.Duration
	total  time.Duration
	loop   bool

	// text stickers: style without the height, re-rendered per frame height.
	text      string
	style     text.Style
	size      float64 // fraction of the frame height
	textH     int
	textFrame *image.NRGBA
}

// at returns the picture to show t seconds after the sticker was added on
// a frame frameH pixels high, and its animation frame index.
func (s *source) at(t float64, frameH int) (*image.NRGBA, int) {
	if s.text != "" {
		if s.textH != frameH {
			st := s.style
			st.HeightPx = s.size * float64(frameH)
			st.StrokeWidthPx *= float64(frameH)
			img, err := text.Render(s.text, st)
			if err != nil {
				return nil, 0
			}
			s.textH, s.textFrame = frameH, img
		}
		return s.textFrame, 0
	}
	if len(s.frames) == 1 || s.total <= 0 {
		return s.frames[0], 0
	}
	e := time.Duration(t * float64(time.Second))
	if !s.loop && e >= s.total {
		return s.frames[len(s.frames)-1], len(s.frames) - 1
	}
	e %= s.total
	for i, d := range s.delays {
		if e < d {
			return s.frames[i], i
		}
		e -= d
	}
	return s.frames[len(s.frames)-1], len(s.frames) - 1
}

// loadSource fetches and decodes the picture of a validated sticker.
func (e *Edge) loadSource(ctx context.Context, tenant string, st spec.Sticker) (*source, error) {
	switch {
	case st.Type == spec.TypeText:
		return textSource(st)
	case st.Builtin != "":
		var buf bytes.Buffer
		if err := builtin.Encode(st.Builtin, &buf); err != nil {
			return nil, errcode.Wrap(errcode.SpecInvalid, err, "sticker.builtin: no built-in sticker named %q", st.Builtin)
		}
		return e.decodeSource(buf.Bytes(), st.Loops())
	case st.AssetID != "":
		if e.deps.Assets == nil {
			return nil, errcode.New(errcode.AssetNotFound, "sticker.asset_id: this edge has no asset store; use a builtin or text sticker")
		}
		rc, err := e.deps.Assets(ctx, tenant, st.AssetID)
		if err != nil {
			if errcode.Of(err) == errcode.Internal {
				return nil, errcode.Wrap(errcode.AssetNotFound, err, "sticker.asset_id: asset %s not found", st.AssetID)
			}
			return nil, err
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, e.cfg.MaxAssetBytes+1))
		if err != nil {
			return nil, errcode.Wrap(errcode.AssetFetchFailed, err, "sticker.asset_id: reading asset %s", st.AssetID)
		}
		if int64(len(data)) > e.cfg.MaxAssetBytes {
			return nil, errcode.New(errcode.AssetTooLarge, "sticker.asset_id: asset %s is over %d bytes", st.AssetID, e.cfg.MaxAssetBytes)
		}
		return e.decodeSource(data, st.Loops())
	}
	return nil, errcode.New(errcode.SpecInvalid, "sticker: realtime image stickers take builtin or asset_id")
}

func textSource(st spec.Sticker) (*source, error) {
	style := text.Style{Font: st.Font, Color: spec.ParseColor(st.Color), StrokeWidthPx: spec.Value(st.StrokeWidth, 0)}
	if st.StrokeColor != "" {
		style.StrokeColor = spec.ParseColor(st.StrokeColor)
	} else if style.StrokeWidthPx > 0 {
		style.StrokeColor = spec.ParseColor("#000000")
	}
	if st.Background != "" {
		style.Background = spec.ParseColor(st.Background)
	}
	s := &source{text: st.Text, style: style, size: spec.Value(st.Size, spec.DefaultTextSize)}
	// Draw it once at a common height so that a text that cannot be drawn
	// is refused now rather than vanish later.
	if img, _ := s.at(0, 480); img == nil {
		st := style
		st.HeightPx = s.size * 480
		_, err := text.Render(s.text, st)
		return nil, errcode.Wrap(errcode.SpecInvalid, err, "sticker.text: %v", err)
	}
	return s, nil
}

// decodeSource decodes PNG, JPEG, GIF (animated too) or WebP (animated
// too) and scales sources over MaxStickerSide down once.
func (e *Edge) decodeSource(data []byte, loop bool) (*source, error) {
	s := &source{loop: loop}
	var err error
	switch {
	case bytes.HasPrefix(data, []byte("GIF8")):
		err = s.decodeGIF(data)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		var frames []animwebp.Frame
		frames, _, err = animwebp.Decode(bytes.NewReader(data), animwebp.Limits{MaxPixels: maxSourcePixels})
		for _, f := range frames {
			s.add(f.Image, f.Delay)
		}
	default:
		var img image.Image
		if img, _, err = image.Decode(bytes.NewReader(data)); err == nil {
			s.add(toNRGBA(img), 0)
		}
	}
	if err != nil || len(s.frames) == 0 {
		return nil, errcode.Wrap(errcode.AssetUnsupported, err, "sticker: the image cannot be decoded (PNG, JPEG, GIF or WebP expected)")
	}
	for i, f := range s.frames {
		s.frames[i] = shrink(f, e.cfg.MaxStickerSide)
	}
	return s, nil
}

func (s *source) add(img *image.NRGBA, delay time.Duration) {
	if delay <= 10*time.Millisecond {
		delay = 100 * time.Millisecond // as browsers play too-fast frames
	}
	s.frames = append(s.frames, img)
	s.delays = append(s.delays, delay)
	s.total += delay
}

// decodeGIF composites every frame onto the logical screen, honouring
// disposal, as browsers show them.
func (s *source) decodeGIF(data []byte) error {
	cfg, err := gif.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxSourcePixels {
		return errors.New("GIF size out of range")
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		return err
	}
	if int64(len(g.Image))*int64(cfg.Width)*int64(cfg.Height) > maxSourcePixels {
		return fmt.Errorf("GIF has too many pixels (%d frames of %dx%d)", len(g.Image), cfg.Width, cfg.Height)
	}
	canvas := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
	for i, fr := range g.Image {
		var prev *image.NRGBA
		if g.Disposal[i] == gif.DisposalPrevious {
			prev = clone(canvas)
		}
		draw.Draw(canvas, fr.Bounds(), fr, fr.Bounds().Min, draw.Over)
		s.add(clone(canvas), time.Duration(g.Delay[i])*10*time.Millisecond)
		switch g.Disposal[i] {
		case gif.DisposalBackground:
			draw.Draw(canvas, fr.Bounds(), image.Transparent, image.Point{}, draw.Src)
		case gif.DisposalPrevious:
			canvas = prev
		}
	}
	return nil
}

func clone(m *image.NRGBA) *image.NRGBA {
	c := image.NewNRGBA(m.Rect)
	copy(c.Pix, m.Pix)
	return c
}

func toNRGBA(img image.Image) *image.NRGBA {
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n
	}
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	return n
}

// shrink scales img down so that its longer side is at most side.
func shrink(img *image.NRGBA, side int) *image.NRGBA {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if max(w, h) <= side {
		return img
	}
	f := float64(side) / float64(max(w, h))
	out := image.NewNRGBA(image.Rect(0, 0, max(1, int(math.Round(float64(w)*f))), max(1, int(math.Round(float64(h)*f)))))
	xdraw.CatmullRom.Scale(out, out.Rect, img, img.Rect, xdraw.Src, nil)
	return out
}
