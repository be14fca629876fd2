package media

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// measureFFmpeg runs ffmpeg with args and fails the test on error.
func measureFFmpeg(t testing.TB, args ...string) {
	t.Helper()
	args = append([]string{"-v", "error", "-y", "-nostdin"}, args...)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// measureRef is what ffprobe says about a file.
type measureRef struct {
	width, height int
	frames        int
	duration      float64 // video stream's, else the format's
	hasAudio      bool
	audioDuration float64 // -1 when ffprobe gives none
}

func ffprobeMeasure(t *testing.T, path string) measureRef {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-show_entries",
		"stream=width,height,nb_read_frames,codec_type,duration:format=duration", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var doc struct {
		Streams []struct {
			CodecType string `json:"codec_type"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Frames    string `json:"nb_read_frames"`
			Duration  string `json:"duration"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("ffprobe json: %v\n%s", err, out)
	}
	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return -1
		}
		return v
	}
	ref := measureRef{duration: -1, audioDuration: -1}
	seenVideo := false
	for _, s := range doc.Streams {
		switch s.CodecType {
		case "video":
			if seenVideo {
				continue
			}
			seenVideo = true
			ref.width, ref.height = s.Width, s.Height
			ref.frames, _ = strconv.Atoi(s.Frames)
			ref.duration = num(s.Duration)
		case "audio":
			if !ref.hasAudio {
				ref.hasAudio, ref.audioDuration = true, num(s.Duration)
			}
		}
	}
	if ref.duration < 0 {
		ref.duration = num(doc.Format.Duration)
	}
	return ref
}

func msNear(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// Real ffmpeg outputs, compared with ffprobe.
func TestMeasure_MatchesFFprobe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatal("ffmpeg and ffprobe are needed: make deps")
	}
	dir := t.TempDir()
	src := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2"}
	tone := []string{"-f", "lavfi", "-i", "sine=frequency=440:duration=2"}
	x264 := []string{"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"}
	vp9 := []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"}
	small := []string{"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=15:duration=1"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name, file, format string
		args               []string
		// noProbe: ffprobe 5.x cannot read animated WebP; compare with
		// what was asked of ffmpeg instead.
		noProbe       bool
		want          measureRef
		audioDuration float64 // expected when ffprobe gives no stream duration
	}{
		{name: "mp4 h264 aac", file: "a.mp4", format: "mp4",
			args: cat(src, tone, x264, []string{"-c:a", "aac", "-shortest"})},
		{name: "mp4 h264 aac faststart", file: "b.mp4", format: "mp4",
			args: cat(src, tone, x264, []string{"-c:a", "aac", "-shortest", "-movflags", "+faststart"})},
		{name: "mp4 24000/1001", file: "c.mp4", format: "mp4",
			args: cat([]string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24000/1001:duration=2"}, x264)},
		{name: "webm vp9 opus", file: "d.webm", format: "webm",
			args: cat(src, tone, vp9, []string{"-c:a", "libopus", "-shortest"}), audioDuration: 2},
		{name: "webm vp9 alpha", file: "e.webm", format: "webm",
			args: cat([]string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2,format=yuva420p"}, vp9,
				[]string{"-pix_fmt", "yuva420p"})},
		// Written to a pipe: ffmpeg cannot seek back, so the Segment's
		// size stays unknown (all ones).
		{name: "webm no audio, unknown-size segment", file: "f.webm", format: "webm",
			args: cat(src, vp9, []string{"-f", "webm", "pipe:1"})},
		{name: "gif", file: "g.gif", format: "gif", args: small},
		{name: "webp animated", file: "h.webp", format: "webp",
			args:    cat(small, []string{"-c:v", "libwebp_anim", "-loop", "0"}),
			noProbe: true, want: measureRef{width: 160, height: 90, frames: 15, duration: 1}},
		{name: "png", file: "i.png", format: "png", args: cat(small, []string{"-frames:v", "1"})},
		{name: "jpg", file: "j.jpg", format: "jpg", args: cat(small, []string{"-frames:v", "1"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, tc.file)
			if tc.args[len(tc.args)-1] == "pipe:1" {
				out, err := os.Create(path)
				if err != nil {
					t.Fatal(err)
				}
				var stderr bytes.Buffer
				cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-nostdin"}, tc.args...)...)
				cmd.Stdout, cmd.Stderr = out, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("ffmpeg: %v %s", err, stderr.Bytes())
				}
				out.Close()
			} else {
				measureFFmpeg(t, append(tc.args, path)...)
			}
			want := tc.want
			if !tc.noProbe {
				want = ffprobeMeasure(t, path)
			}
			start := time.Now()
			m, err := Measure(path, tc.format)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v in %v; ffprobe %+v", m, elapsed, want)
			if m.Width != want.width || m.Height != want.height {
				t.Errorf("size %dx%d, want %dx%d", m.Width, m.Height, want.width, want.height)
			}
			if want.frames == 0 { // still images: ffprobe counts 1
				want.frames = 1
			}
			if m.Frames != want.frames {
				t.Errorf("frames %d, want %d", m.Frames, want.frames)
			}
			switch {
			case tc.format == "png" || tc.format == "jpg":
				want.duration = 0
			case want.duration < 0:
				// No Duration element in a piped WebM: ffprobe
				// reports none; the source lasts 2 s.
				want.duration = 2
			}
			tol := 0.02
			if want.frames > 0 && want.duration > 0 {
				tol = max(tol, want.duration/float64(want.frames))
			}
			if !msNear(m.Duration, want.duration, tol) {
				t.Errorf("duration %v, want %v ± %v", m.Duration, want.duration, tol)
			}
			if m.Duration > 0 && !msNear(m.FPS, float64(m.Frames)/m.Duration, 1e-9) {
				t.Errorf("fps %v for %d frames in %v s", m.FPS, m.Frames, m.Duration)
			}
			if m.HasAudio != want.hasAudio {
				t.Errorf("has audio %v, want %v", m.HasAudio, want.hasAudio)
			}
			wantAudio := want.audioDuration
			if wantAudio < 0 {
				wantAudio = tc.audioDuration
			}
			if !msNear(m.AudioDuration, wantAudio, 0.03) {
				t.Errorf("audio duration %v, want %v", m.AudioDuration, wantAudio)
			}
			if st, _ := os.Stat(path); m.Bytes != st.Size() {
				t.Errorf("bytes %d, want %d", m.Bytes, st.Size())
			}
			if !m.DataComplete {
				t.Error("DataComplete false for a whole file")
			}
			if tc.format == "mp4" {
				msCheckTkhd(t, path)
			}
			if tc.format == "mp4" || tc.format == "webm" {
				msCheckTruncated(t, path, tc.format, m)
			}
		})
	}
}

// msCheckTkhd checks the tkhd width/height offsets on a
// real file: with square pixels the display size equals the coded size.
func msCheckTkhd(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	err = mp4Boxes(data, func(typ string, body []byte) error {
		if typ != "moov" {
			return nil
		}
		return mp4Boxes(body, func(typ string, body []byte) error {
			if typ != "trak" {
				return nil
			}
			tr, err := mp4ParseTrak(body)
			if err != nil {
				return err
			}
			if tr.handler == "vide" && (tr.tkhdW != tr.entryW || tr.tkhdH != tr.entryH || tr.tkhdW == 0) {
				t.Errorf("tkhd %dx%d, sample entry %dx%d", tr.tkhdW, tr.tkhdH, tr.entryW, tr.entryH)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// msCheckTruncated measures the first half of a file: an MP4 whose moov is at
// the end has none left; one with faststart still has its whole index,
// which describes data that is gone; a WebM counts the blocks it still has.
func msCheckTruncated(t *testing.T, path, format string, whole Measured) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	half := filepath.Join(t.TempDir(), "half."+format)
	if err := os.WriteFile(half, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Measure(half, format)
	moovFirst := format == "mp4" && bytes.Index(data, []byte("moov")) < bytes.Index(data, []byte("mdat"))
	switch {
	case format == "mp4" && !moovFirst:
		if !errors.Is(err, ErrUnmeasurable) {
			t.Errorf("first half without moov: %+v, %v; want ErrUnmeasurable", m, err)
		}
	case format == "mp4":
		if err != nil {
			t.Fatalf("first half with moov: %v", err)
		}
		if m.DataComplete || m.Frames != whole.Frames || m.Duration != whole.Duration || m.Width != whole.Width {
			t.Errorf("first half with moov: %+v; want the whole file's index %+v and DataComplete false", m, whole)
		}
	default:
		if err != nil {
			t.Fatalf("first half: %v", err)
		}
		if m.DataComplete || m.Frames >= whole.Frames || m.Frames == 0 || m.Width != whole.Width {
			t.Errorf("first half: %+v; want fewer than %d frames and DataComplete false", m, whole.Frames)
		}
	}
}

func TestMeasure_Errors(t *testing.T) {
	dir := t.TempDir()
	png := filepath.Join(dir, "x.png")
	if err := os.WriteFile(png, msPNG(), 0o644); err != nil {
		t.Fatal(err)
	}
	frag := filepath.Join(dir, "frag.mp4")
	measureFFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1", "-c:v", "libx264", "-preset", "ultrafast",
		"-movflags", "frag_keyframe+empty_moov", frag)
	audioOnly := filepath.Join(dir, "audio.mp4")
	measureFFmpeg(t, "-f", "lavfi", "-i", "sine=duration=0.2", "-c:a", "aac", audioOnly)
	empty := filepath.Join(dir, "empty.webm")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, format string
		also               error
	}{
		{"missing file", filepath.Join(dir, "nope.mp4"), "mp4", fs.ErrNotExist},
		{"directory", dir, "mp4", nil},
		{"unknown format", png, "avi", nil},
		{"png as mp4", png, "mp4", nil},
		{"png as webm", png, "webm", nil},
		{"png as gif", png, "gif", nil},
		{"png as webp", png, "webp", nil},
		{"png as jpg", png, "jpg", nil},
		{"fragmented mp4", frag, "mp4", nil},
		{"mp4 without video", audioOnly, "mp4", nil},
		{"empty webm", empty, "webm", nil},
		{"empty mp4", empty, "mp4", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Measure(tc.path, tc.format)
			if !errors.Is(err, ErrUnmeasurable) {
				t.Fatalf("%+v, %v: want ErrUnmeasurable", m, err)
			}
			if tc.also != nil && !errors.Is(err, tc.also) {
				t.Errorf("%v: want it to wrap %v too", err, tc.also)
			}
			t.Log(err)
		})
	}
}

func msPNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, body []byte) {
		var h [8]byte
		binary.BigEndian.PutUint32(h[:], uint32(len(body)))
		copy(h[4:], typ)
		b.Write(h[:])
		b.Write(body)
		b.Write([]byte{0, 0, 0, 0}) // CRC unchecked by DecodeConfig
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, 4)
	binary.BigEndian.PutUint32(ihdr[4:], 3)
	ihdr[8], ihdr[9] = 8, 6
	chunk("IHDR", ihdr)
	chunk("IDAT", nil)
	b.Write(measurePNGTrailer)
	return b.Bytes()
}

// ---- synthetic MP4 ----

func msBE(v uint64, n int) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i], v = byte(v), v>>8
	}
	return b
}

func msJoin(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func msBox(typ string, parts ...[]byte) []byte {
	body := msJoin(parts...)
	return msJoin(msBE(uint64(8+len(body)), 4), []byte(typ), body)
}

// msBox64 writes a box with a 64-bit size (size field 1).
func msBox64(typ string, parts ...[]byte) []byte {
	body := msJoin(parts...)
	return msJoin(msBE(1, 4), []byte(typ), msBE(uint64(16+len(body)), 8), body)
}

// msSynthMP4 builds an MP4 of 10 video samples of 100 bytes in two chunks of
// five: ftyp, a 64-bit mdat, and a moov that runs to the end of the file
// (size 0), with tkhd/mdhd/mvhd of version v, no sample entry (so the
// size comes from tkhd), a two-entry stts and co64 or stco offsets.
func msSynthMP4(v int, co64 bool, chunk2 uint64) []byte {
	ftyp := msBox("ftyp", []byte("isom"), msBE(512, 4), []byte("isomiso2"))
	mdat := msBox64("mdat", make([]byte, 1000))
	data := uint64(len(ftyp) + 16)
	if chunk2 == 0 {
		chunk2 = data + 500
	}
	full := func(typ string, parts ...[]byte) []byte {
		return msBox(typ, append([][]byte{{byte(v), 0, 0, 0}}, parts...)...)
	}
	var mvhd, tkhd, mdhd []byte
	matrix := msJoin(msBE(0x10000, 4), msBE(0, 12), msBE(0x10000, 4), msBE(0, 12), msBE(0x40000000, 4))
	if v == 1 {
		mvhd = full("mvhd", msBE(0, 16), msBE(1000, 4), msBE(440, 8), make([]byte, 80))
		tkhd = full("tkhd", msBE(0, 16), msBE(1, 4), msBE(0, 4), msBE(440, 8), msBE(0, 16), matrix, msBE(640<<16, 4), msBE(360<<16, 4))
		mdhd = full("mdhd", msBE(0, 16), msBE(12800, 4), msBE(5632, 8), msBE(0, 4))
	} else {
		mvhd = full("mvhd", msBE(0, 8), msBE(1000, 4), msBE(440, 4), make([]byte, 80))
		tkhd = full("tkhd", msBE(0, 8), msBE(1, 4), msBE(0, 4), msBE(440, 4), msBE(0, 16), matrix, msBE(640<<16, 4), msBE(360<<16, 4))
		mdhd = full("mdhd", msBE(0, 8), msBE(12800, 4), msBE(5632, 4), msBE(0, 4))
	}
	hdlr := msBox("hdlr", msBE(0, 4), msBE(0, 4), []byte("vide"), msBE(0, 12), []byte("x\x00"))
	stts := msBox("stts", msBE(0, 4), msBE(2, 4), msBE(9, 4), msBE(512, 4), msBE(1, 4), msBE(1024, 4))
	var sizes []byte
	for range 10 {
		sizes = append(sizes, msBE(100, 4)...)
	}
	stsz := msBox("stsz", msBE(0, 4), msBE(0, 4), msBE(10, 4), sizes)
	stsc := msBox("stsc", msBE(0, 4), msBE(1, 4), msBE(1, 4), msBE(5, 4), msBE(1, 4))
	stco := msBox("stco", msBE(0, 4), msBE(2, 4), msBE(data, 4), msBE(chunk2, 4))
	if co64 {
		stco = msBox("co64", msBE(0, 4), msBE(2, 4), msBE(data, 8), msBE(chunk2, 8))
	}
	stsd := msBox("stsd", msBE(0, 4), msBE(0, 4))
	stbl := msBox("stbl", stsd, stts, stsz, stsc, stco)
	trak := msBox("trak", tkhd, msBox("mdia", mdhd, hdlr, msBox("minf", stbl)))
	moov := msBox("moov", mvhd, trak)
	moov = msJoin(msBE(0, 4), moov[4:]) // size 0: to the end of the file
	return msJoin(ftyp, mdat, moov)
}

func TestMeasure_SyntheticMP4(t *testing.T) {
	for _, tc := range []struct {
		name     string
		data     []byte
		complete bool
	}{
		{"v0 stco", msSynthMP4(0, false, 0), true},
		{"v1 co64", msSynthMP4(1, true, 0), true},
		{"chunk past the end", msSynthMP4(1, true, 1<<40), false},
		{"chunk past the end, 32-bit", msSynthMP4(0, false, 0xFFFFFFFF), false},
		{"chunk overlapping the end", msSynthMP4(0, false, uint64(len(msSynthMP4(0, false, 0))-250)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := measure(bytes.NewReader(tc.data), int64(len(tc.data)), "mp4")
			if err != nil {
				t.Fatal(err)
			}
			want := Measured{Width: 640, Height: 360, Frames: 10, Duration: 0.44, FPS: 10 / 0.44,
				Bytes: int64(len(tc.data)), DataComplete: tc.complete}
			if m != want {
				t.Errorf("got  %+v\nwant %+v", m, want)
			}
		})
	}
}

// ---- synthetic Matroska ----

func msEbmlID(id uint32) []byte {
	switch {
	case id > 0xFFFFFF:
		return msBE(uint64(id), 4)
	case id > 0xFFFF:
		return msBE(uint64(id), 3)
	case id > 0xFF:
		return msBE(uint64(id), 2)
	}
	return []byte{byte(id)}
}

// msEl writes an element with an 8-byte size field.
func msEl(id uint32, parts ...[]byte) []byte {
	body := msJoin(parts...)
	return msJoin(msEbmlID(id), msBE(1<<56|uint64(len(body)), 8), body)
}

// msElUnknown writes a master element of unknown size.
func msElUnknown(id uint32, parts ...[]byte) []byte {
	return msJoin(msEbmlID(id), []byte{0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, msJoin(parts...))
}

func msElUint(id uint32, v uint64) []byte { return msEl(id, msBE(v, 8)) }

// msBlk is a SimpleBlock body: track 1-byte vint, relative time, flags, the
// lace header and 10 bytes of payload per frame.
func msBlock(track byte, rel int16, frames int, lacing byte) []byte {
	b := []byte{0x80 | track, byte(uint16(rel) >> 8), byte(rel), 0x80 | lacing<<1}
	switch lacing {
	case 0:
	case 1: // Xiph: sizes of all frames but the last
		b = append(b, byte(frames-1))
		for range frames - 1 {
			b = append(b, 10)
		}
	case 2: // fixed size
		b = append(b, byte(frames-1))
	case 3: // EBML: first size as a vint, then signed differences
		b = append(b, byte(frames-1), 0x8A)
		for range frames - 2 {
			b = append(b, 0xBF) // difference 0
		}
	}
	return append(b, make([]byte, 10*frames)...)
}

// msSynthWebM builds a Matroska file with an unknown-size Segment and
// Clusters, Void and CRC-32 elements, laced blocks of each kind, a
// BlockGroup with a BlockDuration, DefaultDuration 50 ms on the video
// track and a float32 Info Duration.
func msSynthWebM(defaultDur bool) []byte {
	head := msEl(mkvEBML, msEl(0x4282, []byte("webm")))
	info := msEl(mkvInfo, msElUint(mkvTimecodeScl, 1000000), msEl(mkvDuration, msBE(uint64(math.Float32bits(300)), 4)))
	video := []byte{}
	if defaultDur {
		video = msElUint(mkvDefaultDur, 50000000)
	}
	tracks := msEl(mkvTracks,
		msEl(mkvTrackEntry, msElUint(mkvTrackNumber, 1), msElUint(mkvTrackType, 1), video,
			msEl(mkvVideo, msElUint(mkvPixelWidth, 100), msElUint(mkvPixelHeight, 50))),
		msEl(mkvTrackEntry, msElUint(mkvTrackNumber, 2), msElUint(mkvTrackType, 2)))
	void := msEl(0xEC, make([]byte, 7))
	crc := msEl(0xBF, make([]byte, 4))
	c1 := msElUnknown(mkvCluster, crc, msElUint(mkvTimecode, 0),
		msEl(mkvSimpleBlock, msBlock(1, 0, 1, 0)),
		msEl(mkvSimpleBlock, msBlock(2, 0, 1, 0)),
		msEl(mkvSimpleBlock, msBlock(1, 40, 3, 1)), // 40, 80, 120
		msEl(mkvSimpleBlock, msBlock(2, 20, 1, 0)),
		void,
		msEl(mkvBlockGroup, msEl(mkvBlock, msBlock(1, 160, 1, 0)), msElUint(mkvBlockDur, 40)),
		msEl(mkvSimpleBlock, msBlock(2, 40, 1, 0)))
	c2 := msElUnknown(mkvCluster, msElUint(mkvTimecode, 200),
		msEl(mkvSimpleBlock, msBlock(1, 0, 2, 3)),  // 200, 240
		msEl(mkvSimpleBlock, msBlock(1, 80, 2, 2))) // 280, 320
	cues := msEl(mkvCues, make([]byte, 3))
	return msJoin(head, msElUnknown(mkvSegment, void, info, tracks, c1, c2, cues))
}

func TestMeasure_SyntheticWebM(t *testing.T) {
	full := msSynthWebM(true)
	noDefault := msSynthWebM(false)
	cut := full[:bytes.LastIndex(full, []byte{0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF})+30] // into the second cluster's first block
	// The same, with a known Segment size, whole and cut.
	seg := bytes.Index(full, []byte{0x18, 0x53, 0x80, 0x67})
	known := append([]byte(nil), full...)
	copy(known[seg+4:], msBE(1<<56|uint64(len(full)-seg-12), 8))
	tests := []struct {
		name string
		data []byte
		want Measured
	}{
		// Video: 9 frames, the first at 0 ms, the last block at 280 ms
		// holding 2 frames of DefaultDuration 50 ms: 380 ms. Audio:
		// blocks at 0, 20, 40 ms, no DefaultDuration: plus the average
		// gap, 60 ms.
		{"unknown sizes", full, Measured{Width: 100, Height: 50, Frames: 9, Duration: 0.38, HasAudio: true, AudioDuration: 0.06, DataComplete: true}},
		{"known segment size", known, Measured{Width: 100, Height: 50, Frames: 9, Duration: 0.38, HasAudio: true, AudioDuration: 0.06, DataComplete: true}},
		// Cut inside the last block: the last whole one, at 200 ms, holds
		// 2 frames: 300 ms.
		{"known segment size, cut", known[:len(known)-20], Measured{Width: 100, Height: 50, Frames: 7, Duration: 0.3, HasAudio: true, AudioDuration: 0.06}},
		// Without DefaultDuration the last block's 2 frames last the
		// average gap: 280 ms over the 7 earlier frames, 40 ms each.
		{"no default duration", noDefault, Measured{Width: 100, Height: 50, Frames: 9, Duration: 0.36, HasAudio: true, AudioDuration: 0.06, DataComplete: true}},
		// Cut inside the second cluster's first block: that block is not
		// counted; the BlockGroup's BlockDuration ends the video at 200.
		{"cut", cut, Measured{Width: 100, Height: 50, Frames: 5, Duration: 0.2, HasAudio: true, AudioDuration: 0.06}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := measure(bytes.NewReader(tc.data), int64(len(tc.data)), "webm")
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Bytes = int64(len(tc.data))
			tc.want.FPS = float64(tc.want.Frames) / tc.want.Duration
			if !msNear(m.Duration, tc.want.Duration, 1e-9) || !msNear(m.AudioDuration, tc.want.AudioDuration, 1e-9) || !msNear(m.FPS, tc.want.FPS, 1e-6) {
				t.Errorf("got  %+v\nwant %+v", m, tc.want)
			}
			m.Duration, m.AudioDuration, m.FPS = tc.want.Duration, tc.want.AudioDuration, tc.want.FPS
			if m != tc.want {
				t.Errorf("got  %+v\nwant %+v", m, tc.want)
			}
		})
	}
}

// Hostile inputs that must fail fast, not allocate or loop.
func TestMeasure_Hostile(t *testing.T) {
	ftyp := msBox("ftyp", []byte("isom"), msBE(512, 4))
	manyVoids := msJoin(msEl(mkvEBML), msElUnknown(mkvSegment), bytes.Repeat([]byte{0xEC, 0x80}, 5<<20))
	tests := []struct {
		name, format string
		data         []byte
	}{
		{"moov claims 4 GiB", "mp4", msJoin(ftyp, msBE(0xFFFFFFF0, 4), []byte("moov"))},
		{"moov 64-bit size 2^63", "mp4", msJoin(ftyp, msBE(1, 4), []byte("moov"), msBE(1<<63, 8))},
		{"box smaller than its header", "mp4", msJoin(ftyp, msBE(4, 4), []byte("free"))},
		{"stts claims 2^32 entries", "mp4", msJoin(ftyp, msBox("moov", msBox("trak", msBox("mdia", msBox("minf",
			msBox("stbl", msBox("stts", msBE(0, 4), msBE(0xFFFFFFFF, 4))))))))},
		{"many top-level boxes", "mp4", msJoin(ftyp, bytes.Repeat(msBox("free"), 5000))},
		{"segment larger than the file, no tracks", "webm", msJoin(msEl(mkvEBML), msEbmlID(mkvSegment), []byte{0x01, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE})},
		{"millions of voids", "webm", manyVoids},
		{"unknown-size Info", "webm", msJoin(msEl(mkvEBML), msElUnknown(mkvSegment, msElUnknown(mkvInfo)))},
		{"invalid element id", "webm", msJoin(msEl(mkvEBML), msElUnknown(mkvSegment, []byte{0x00, 0x81, 0x00}))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			m, err := measure(bytes.NewReader(tc.data), int64(len(tc.data)), tc.format)
			if !errors.Is(err, ErrUnmeasurable) {
				t.Errorf("%+v, %v: want ErrUnmeasurable", m, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
			t.Log(err)
		})
	}
}

var measureFormats = []string{"mp4", "webm", "gif", "webp", "png", "jpg"}

func FuzzMeasure(f *testing.F) {
	dir := f.TempDir()
	tiny := []string{"-f", "lavfi", "-i", "testsrc2=size=32x24:rate=10:duration=0.3"}
	tone := []string{"-f", "lavfi", "-i", "sine=duration=0.3"}
	seeds := []struct {
		file string
		args []string
	}{
		{"a.mp4", msArgs(tiny, tone, []string{"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-movflags", "+faststart"})},
		{"b.webm", msArgs(tiny, tone, []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", "-shortest"})},
		{"c.gif", tiny},
		{"d.webp", msArgs(tiny, []string{"-c:v", "libwebp_anim"})},
		{"e.png", msArgs(tiny, []string{"-frames:v", "1"})},
		{"f.jpg", msArgs(tiny, []string{"-frames:v", "1"})},
	}
	for i, s := range seeds {
		path := filepath.Join(dir, s.file)
		measureFFmpeg(f, append(s.args, path)...)
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(i))
		f.Add(data[:len(data)/2], uint8(i))
	}
	f.Add(msSynthMP4(1, true, 0), uint8(0))
	f.Add(msSynthWebM(true), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		format := measureFormats[int(kind)%len(measureFormats)]
		start := time.Now()
		m, err := measure(bytes.NewReader(data), int64(len(data)), format)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("%s of %d bytes took %v", format, len(data), d)
		}
		if err != nil {
			if !errors.Is(err, ErrUnmeasurable) {
				t.Fatalf("error %v does not wrap ErrUnmeasurable", err)
			}
			return
		}
		if m.Width < 0 || m.Height < 0 || m.Frames < 0 || !(m.Duration >= 0) || !(m.AudioDuration >= 0) ||
			math.IsInf(m.Duration, 0) || math.IsNaN(m.FPS) || m.Bytes != int64(len(data)) {
			t.Fatalf("%s: implausible %+v", format, m)
		}
	})
}

func msArgs(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func BenchmarkMeasure(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct{ file, format string }{{"a.mp4", "mp4"}, {"b.webm", "webm"}} {
		path := filepath.Join(dir, c.file)
		measureFFmpeg(b, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2", "-f", "lavfi", "-i", "sine=duration=2",
			"-shortest", "-cpu-used", "8", "-deadline", "realtime", "-preset", "ultrafast", path)
		b.Run(c.format, func(b *testing.B) {
			for b.Loop() {
				if _, err := Measure(path, c.format); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
