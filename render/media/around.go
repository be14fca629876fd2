package media

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"

	"github.com/stickerd/stickerd/internal/errcode"
)

// ErrNoPackets is returned by PacketsBetween for a stretch that holds no
// video packet: the video ends before it.
var ErrNoPackets = errors.New("media: no video packets there")

// PacketsBetween reads the first video stream's packets from about from
// to to (seconds on the file's timeline) and its coding parameters, as
// Packets does for the whole stream. ffprobe seeks to the keyframe at or
// before from and reads on until a packet at or after to, so it costs a
// seek and a few seconds of packet headers whatever the file's length;
// the packets may start before from. Keyframes are not checked for IDR
// pictures. A stretch with no video packets is ErrNoPackets.
func (p Prober) PacketsBetween(ctx context.Context, path string, from, to float64) (*PacketIndex, error) {
	ctx, cancel := context.WithTimeout(ctx, p.Limits.ProbeTimeout)
	defer cancel()
	interval := strconv.FormatFloat(max(0, from), 'f', 6, 64) + "%" + strconv.FormatFloat(to, 'f', 6, 64)
	args := append([]string{"-v", "error"}, InputGuard(VideoFormats)...)
	args = append(args, "-select_streams", "v:0", "-of", "compact", "-read_intervals", interval,
		"-show_entries", "packet=pts,dts,duration,size,pos,flags:"+
			"stream=codec_name,profile,level,pix_fmt,color_range,color_space,color_transfer,color_primaries,sample_aspect_ratio,time_base,has_b_frames:"+
			"format=format_name,start_time",
		"--", FileURL(path))
	cmd := exec.CommandContext(ctx, p.FFprobe, args...)
	out, err := cmd.Output()
	if ctx.Err() != nil {
		return nil, errcode.Wrap(errcode.SourceUnreadable, ctx.Err(), "reading the video's packets took too long")
	}
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = lastLine(string(ee.Stderr))
		}
		return nil, errcode.Wrap(errcode.SourceUnreadable, fmt.Errorf("%w: %s", err, msg), "the video's packets cannot be read")
	}
	if !bytes.HasPrefix(out, []byte("packet|")) && !bytes.Contains(out, []byte("\npacket|")) {
		return nil, ErrNoPackets
	}
	idx, err := parsePacketIndex(out)
	if err != nil {
		return nil, errcode.Wrap(errcode.SourceUnreadable, err, "the video's packets from %.3f s: %v", from, err)
	}
	return idx, nil
}
