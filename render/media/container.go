package media

import (
	"bytes"
	"encoding/binary"
	"strings"
)

// The only ways user media reaches ffmpeg or ffprobe. Playlist and
// indirection formats (HLS, DASH, concat scripts, SDP, image sequences,
// lavfi graphs) name other files or addresses, so a file of theirs could
// make a worker read another tenant's output or fetch from its network:
// they are never demuxed. The Go sniff below refuses them before any
// process starts; the whitelists make ffmpeg refuse whatever the sniff
// let through before its demuxer opens anything.
const (
	// ProtocolWhitelist is the only protocol ffmpeg may use to open user
	// media: the local file the engine chose.
	ProtocolWhitelist = "file"
	// VideoFormats are the demuxers allowed for video files: MP4/MOV (one
	// demuxer named "mov,mp4,…"; external data references stay off, as
	// they are by default), Matroska/WebM and MPEG-TS.
	VideoFormats = "mov,matroska,mpegts"
)

// SupportedTypes names what Sniff accepts, for error messages.
const SupportedTypes = "MP4/MOV, WebM/Matroska or MPEG-TS videos; PNG, JPEG, GIF or WebP images"

// InputGuard returns the ffmpeg/ffprobe input options that confine one
// input to formats (a whitelist of demuxer names) read through the file
// protocol only. Put them before the input they guard.
func InputGuard(formats string) []string {
	return []string{"-protocol_whitelist", ProtocolWhitelist, "-format_whitelist", formats}
}

// FileURL makes a local path unambiguous to ffmpeg: a name such as
// "http:x" or "subfile,,…" is read as a file, never as a protocol.
func FileURL(path string) string {
	if strings.HasPrefix(path, "file:") {
		return path
	}
	return "file:" + path
}

// refusedFormat finds ffmpeg's "Format not on whitelist" complaint and
// the demuxer it names ("[hls @ 0x…] Format not on whitelist …").
func refusedFormat(stderr string) (string, bool) {
	i := strings.Index(stderr, "Format not on whitelist")
	if i < 0 {
		return "", false
	}
	line := stderr[:i]
	if j := strings.LastIndexByte(line, '\n'); j >= 0 {
		line = line[j+1:]
	}
	name := "detected"
	if a, b := strings.IndexByte(line, '['), strings.Index(line, " @"); a >= 0 && b > a {
		name = line[a+1 : b]
	}
	return name, true
}

// Container is the family of a file, told from its first bytes.
type Container string

// Containers the engine reads.
const (
	ContainerUnknown  Container = ""
	ContainerMP4      Container = "mp4" // ISO BMFF and QuickTime
	ContainerMatroska Container = "matroska"
	ContainerMPEGTS   Container = "mpegts"
	ContainerPNG      Container = "png"
	ContainerJPEG     Container = "jpeg"
	ContainerGIF      Container = "gif"
	ContainerWebP     Container = "webp"
)

// IsVideo reports whether c is a video container, read by ffmpeg.
func (c Container) IsVideo() bool {
	return c == ContainerMP4 || c == ContainerMatroska || c == ContainerMPEGTS
}

// Sniff tells the container from a file's first bytes (at least 512 where
// the file has them), and names a refused format it recognises, for the
// error message: "HLS playlist", "DASH manifest", …
func Sniff(head []byte) (c Container, refused string) {
	switch {
	case len(head) >= 8 && bytes.Equal(head[:8], []byte("\x89PNG\r\n\x1a\n")):
		return ContainerPNG, ""
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return ContainerJPEG, ""
	case len(head) >= 6 && (string(head[:6]) == "GIF87a" || string(head[:6]) == "GIF89a"):
		return ContainerGIF, ""
	case isWebP(head):
		return ContainerWebP, ""
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return ContainerMatroska, ""
	case isISOBMFF(head):
		return ContainerMP4, ""
	case isMPEGTS(head):
		return ContainerMPEGTS, ""
	}
	return ContainerUnknown, refusedName(head)
}

// isISOBMFF checks the first box: a plausible size and a top-level type
// that MP4 and QuickTime files start with.
func isISOBMFF(h []byte) bool {
	if len(h) < 8 {
		return false
	}
	size := binary.BigEndian.Uint32(h[:4])
	if size != 0 && size != 1 && size < 8 {
		return false
	}
	switch string(h[4:8]) {
	case "ftyp", "moov", "mdat", "free", "skip", "wide", "pnot", "uuid":
		return true
	}
	return false
}

// isMPEGTS wants the sync byte at the start of the first packets, in
// 188-byte packets or 192-byte M2TS ones.
func isMPEGTS(h []byte) bool {
	for _, stride := range []int{188, 192} {
		off := 0
		if stride == 192 {
			off = 4
		}
		if len(h) < off+1 || h[off] != 0x47 {
			continue
		}
		ok := true
		for i := off + stride; i < len(h); i += stride {
			if h[i] != 0x47 {
				ok = false
				break
			}
		}
		if ok && len(h) > off+stride {
			return true
		}
		if ok && len(h) <= off+stride && len(h) < 512 {
			return true // a short file: its only packet starts right
		}
	}
	return false
}

// refusedName recognises text formats that point at other resources.
func refusedName(head []byte) string {
	s := strings.TrimLeft(string(bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))), " \t\r\n")
	switch {
	case strings.HasPrefix(s, "#EXTM3U"), strings.HasPrefix(s, "#EXT-X-"):
		return "an HLS playlist"
	case strings.Contains(s, "<MPD"):
		return "a DASH manifest"
	case strings.HasPrefix(s, "ffconcat"), strings.HasPrefix(s, "file '"), strings.HasPrefix(s, "file "):
		return "a concat script"
	case strings.HasPrefix(s, "v=0"):
		return "an SDP session description"
	case strings.HasPrefix(s, "<?xml"), strings.HasPrefix(s, "<"):
		return "an XML or HTML document"
	}
	return ""
}
