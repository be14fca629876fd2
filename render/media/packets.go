package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/stickerd/stickerd/internal/errcode"
)

// PacketIndex is a video stream's packets in decode order, with the
// stream parameters an encoder must reproduce to replace some of them.
// It is read from the container by ffprobe without decoding a frame, so
// it costs a read of the file, not a decode.
type PacketIndex struct {
	Container string `json:"container"` // ffprobe format name
	Codec     string `json:"codec"`
	Profile   string `json:"profile,omitempty"` // ffprobe's name: "High", "Main", …
	Level     int    `json:"level,omitempty"`   // level_idc: 40 is 4.0
	PixFmt    string `json:"pix_fmt,omitempty"`
	// Colour tags, as ffprobe names them; "" where the stream says nothing.
	ColorRange     string `json:"color_range,omitempty"`
	ColorSpace     string `json:"color_space,omitempty"`
	ColorTransfer  string `json:"color_transfer,omitempty"`
	ColorPrimaries string `json:"color_primaries,omitempty"`
	SAR            string `json:"sar,omitempty"` // "1:1"; "" unknown
	// TBNum/TBDen is the stream's time base: Packet timestamps count it.
	TBNum, TBDen int64
	// HasBFrames is the decoder's reorder depth (frames).
	HasBFrames int `json:"has_b_frames"`
	// StartUS is the file's start time in microseconds: ffmpeg subtracts
	// it from every stream, so a frame's render time is its pts minus it.
	StartUS int64 `json:"start_us"`
	Packets []Packet
}

// Packet is one video packet.
type Packet struct {
	PTS, DTS, Duration int64 // in the stream's time base
	Size               int
	Pos                int64 // byte offset in the file; -1 unknown
	Key                bool
	// IDR is set for an H.264 keyframe whose first picture is an IDR
	// slice; IDRKnown says whether the packet's bytes could tell (an
	// AVCC or Annex B H.264 packet).
	IDR, IDRKnown bool
}

// Packets reads the first video stream's packet index (pts, dts,
// duration, size, position, key flag) and its coding parameters. ffprobe
// runs with the same confinement as Probe: the file protocol and the
// video demuxer whitelist only.
func (p Prober) Packets(ctx context.Context, path string) (*PacketIndex, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Limits.ProbeTimeout)
	defer cancel()
	args := append([]string{"-v", "error"}, InputGuard(VideoFormats)...)
	args = append(args, "-select_streams", "v:0", "-of", "compact",
		"-show_entries", "packet=pts,dts,duration,size,pos,flags:"+
			"stream=codec_name,profile,level,pix_fmt,color_range,color_space,color_transfer,color_primaries,sample_aspect_ratio,time_base,has_b_frames:"+
			"format=format_name,start_time",
		"--", FileURL(path))
	cmd := exec.CommandContext(ctx, p.FFprobe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, errcode.Wrap(errcode.SourceUnreadable, ctx.Err(), "reading the video's packet index took too long")
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.SourceUnreadable, fmt.Errorf("%w: %s", err, lastLine(stderr.String())), "the video's packets cannot be read")
	}
	idx, err := parsePacketIndex(out)
	if err != nil {
		return nil, errcode.Wrap(errcode.SourceUnreadable, err, "the video's packet index: %v", err)
	}
	if idx.Codec == "h264" {
		markIDR(path, idx)
	}
	return idx, nil
}

// parsePacketIndex reads ffprobe's compact output: one line per section,
// "packet|pts=0|dts=-1024|…", in the order ffprobe prints them.
func parsePacketIndex(out []byte) (*PacketIndex, error) {
	idx := &PacketIndex{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sawStream := false
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "|")
		kv := map[string]string{}
		for _, f := range fields[1:] {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		switch fields[0] {
		case "packet":
			pk := Packet{PTS: tsOrMin(kv["pts"]), DTS: tsOrMin(kv["dts"]), Duration: tsOrMin(kv["duration"]),
				Size: atoi(kv["size"]), Pos: -1, Key: strings.HasPrefix(kv["flags"], "K")}
			if pos, err := strconv.ParseInt(kv["pos"], 10, 64); err == nil {
				pk.Pos = pos
			}
			if pk.PTS == noTS || pk.DTS == noTS {
				return nil, fmt.Errorf("packet %d has no timestamp", len(idx.Packets))
			}
			idx.Packets = append(idx.Packets, pk)
		case "stream":
			sawStream = true
			idx.Codec, idx.Profile, idx.PixFmt = kv["codec_name"], kv["profile"], kv["pix_fmt"]
			idx.Level = atoi(kv["level"])
			idx.ColorRange, idx.ColorSpace = known(kv["color_range"]), known(kv["color_space"])
			idx.ColorTransfer, idx.ColorPrimaries = known(kv["color_transfer"]), known(kv["color_primaries"])
			if sar := kv["sample_aspect_ratio"]; sar != "N/A" && sar != "0:1" {
				idx.SAR = sar
			}
			idx.HasBFrames = atoi(kv["has_b_frames"])
			n, d, ok := strings.Cut(kv["time_base"], "/")
			num, err1 := strconv.ParseInt(n, 10, 64)
			den, err2 := strconv.ParseInt(d, 10, 64)
			if !ok || err1 != nil || err2 != nil || num <= 0 || den <= 0 {
				return nil, fmt.Errorf("the stream's time base %q is unusable", kv["time_base"])
			}
			idx.TBNum, idx.TBDen = num, den
		case "format":
			idx.Container = kv["format_name"]
			us, err := ParseMicros(kv["start_time"])
			if err == nil {
				idx.StartUS = us
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !sawStream {
		return nil, fmt.Errorf("no video stream")
	}
	if len(idx.Packets) == 0 {
		return nil, fmt.Errorf("no video packets")
	}
	return idx, nil
}

const noTS = -1 << 62

func tsOrMin(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return noTS
	}
	return v
}

// known maps ffprobe's "unknown" (and absent values) to "".
func known(s string) string {
	if s == "unknown" || s == "N/A" || s == "reserved" {
		return ""
	}
	return s
}

// ParseMicros reads a decimal number of seconds as ffprobe prints it
// ("-0.021333", "12.000000") into whole microseconds, exactly: ffmpeg
// keeps a file's start time in microseconds, and going through a float
// could land one off.
func ParseMicros(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 6 {
		frac = frac[:6]
	}
	frac += strings.Repeat("0", 6-len(frac))
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, err
	}
	us := w*1_000_000 + f
	if neg {
		us = -us
	}
	return us, nil
}

// markIDR reads the first bytes of each keyframe and says whether it is
// an IDR picture. A non-IDR keyframe (an I picture with a recovery
// point) leaves later pictures free to reference earlier ones, so a cut
// there is not clean even when the timestamps look it. Packets in MP4
// and Matroska are length-prefixed (AVCC, 4-byte lengths as every muxer
// writes them); MPEG-TS ones are Annex B. A packet neither way parses is
// left unknown.
func markIDR(path string, idx *PacketIndex) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for i := range idx.Packets {
		pk := &idx.Packets[i]
		if !pk.Key || pk.Pos < 0 || pk.Size <= 4 {
			continue
		}
		n := min(pk.Size, len(buf))
		if _, err := f.ReadAt(buf[:n], pk.Pos); err != nil && err != io.EOF {
			continue
		}
		pk.IDR, pk.IDRKnown = h264IDR(buf[:n], pk.Size)
	}
}

// h264IDR finds the first slice NAL unit of a packet (of which b is the
// start, size the whole length) and reports whether it is an IDR slice
// (type 5) rather than a non-IDR one (type 1).
func h264IDR(b []byte, size int) (idr, known bool) {
	if len(b) >= 4 && (binary.BigEndian.Uint32(b) == 1 || b[0] == 0 && b[1] == 0 && b[2] == 1) {
		return annexBIDR(b)
	}
	// AVCC: 4-byte big-endian lengths that must tile the packet exactly;
	// only the NAL units within b can be looked at.
	off := 0
	for off+5 <= len(b) {
		n := int(binary.BigEndian.Uint32(b[off:]))
		if n <= 0 || off+4+n > size {
			return false, false
		}
		switch b[off+4] & 0x1f {
		case 5:
			return true, true
		case 1:
			return false, true
		}
		off += 4 + n
	}
	return false, false
}

func annexBIDR(b []byte) (bool, bool) {
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			switch b[i+3] & 0x1f {
			case 5:
				return true, true
			case 1:
				return false, true
			}
			i += 2
		}
	}
	return false, false
}
