// Package hostiletest builds files that try to make ffmpeg read something
// other than themselves (playlists, manifests, concat scripts, session
// descriptions) and canaries that tell whether anything was read: a local
// file watched with inotify and a loopback HTTP server that counts
// requests. Tests of every path that hands user media to ffmpeg or
// ffprobe use them.
package hostiletest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Canary is a local file and a loopback URL that no test subject may read.
type Canary struct {
	// Path is a real MPEG-TS video; a playlist that reaches it would
	// render its frames.
	Path string
	// URL serves the same bytes over loopback HTTP.
	URL string

	fd   int
	hits atomic.Int64
}

// New makes a canary video in a temporary folder, watches it and serves it.
func New(t testing.TB) *Canary {
	t.Helper()
	dir := t.TempDir()
	c := &Canary{Path: filepath.Join(dir, "secret-output.ts")}
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1",
		"-c:v", "libx264", "-f", "mpegts", "-y", c.Path).CombinedOutput()
	if err != nil {
		t.Fatalf("hostiletest: making the canary: %v: %s", err, out)
	}
	data, err := os.ReadFile(c.Path)
	if err != nil {
		t.Fatal(err)
	}
	c.fd, err = unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("hostiletest: inotify: %v", err)
	}
	if _, err := unix.InotifyAddWatch(c.fd, c.Path, unix.IN_OPEN|unix.IN_ACCESS); err != nil {
		t.Fatalf("hostiletest: inotify watch: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		w.Header().Set("Content-Type", "video/mp2t")
		w.Write(data)
	}))
	c.URL = srv.URL + "/secret.ts"
	t.Cleanup(func() {
		srv.Close()
		unix.Close(c.fd)
	})
	return c
}

// AssertUntouched fails the test if the canary file was opened or read,
// or the canary URL was requested, since New or the last call.
func (c *Canary) AssertUntouched(t testing.TB) {
	t.Helper()
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.PathMax))
	n, err := unix.Read(c.fd, buf)
	if err == nil && n > 0 {
		t.Errorf("hostiletest: the canary file %s was opened or read (%d bytes of inotify events)", c.Path, n)
	}
	if h := c.hits.Swap(0); h > 0 {
		t.Errorf("hostiletest: the canary URL %s was requested %d times", c.URL, h)
	}
}

// File is one hostile upload.
type File struct {
	Name string // a test name that says what it tries
	Ext  string // the extension an attacker would give it
	Data []byte
}

// Files returns every hostile file aimed at c: each would, if a demuxer
// or protocol outside the allow-list were used, read c.Path or c.URL.
func Files(c *Canary) []File {
	fileURL := "file://" + c.Path
	hls := func(seg string) []byte {
		return []byte("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n" +
			"#EXTINF:1.0,\n" + seg + "\n#EXT-X-ENDLIST\n")
	}
	dash := func(base string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT1S" minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
 <BaseURL>` + base + `</BaseURL>
 <Period><AdaptationSet mimeType="video/mp2t"><Representation id="0" bandwidth="100000" width="64" height="48" codecs="avc1.42c00a">
  <BaseURL>` + filepath.Base(c.Path) + `</BaseURL><SegmentBase/></Representation></AdaptationSet></Period>
</MPD>
`)
	}
	return []File{
		{"hls_file_segment", ".m3u8", hls(fileURL)},
		{"hls_plain_path_segment", ".mp4", hls(c.Path)},
		{"hls_http_segment", ".m3u8", hls(c.URL)},
		{"hls_subfile_protocol", ".mp4", hls("subfile,,start,0,end,0,,:" + c.Path)},
		{"hls_concat_protocol", ".mp4", hls("concat:" + c.Path)},
		{"hls_crypto_protocol", ".mp4", hls("crypto+file://" + c.Path)},
		{"hls_map_uri", ".mp4", []byte("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MAP:URI=\"" + fileURL + "\"\n#EXTINF:1.0,\n" + fileURL + "\n#EXT-X-ENDLIST\n")},
		{"hls_master_variant", ".mp4", []byte("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=100000\n" + c.URL + "\n")},
		{"dash_file_baseurl", ".mpd", dash("file://" + filepath.Dir(c.Path) + "/")},
		{"dash_http_baseurl", ".mp4", dash(c.URL[:len(c.URL)-len("secret.ts")])},
		{"ffconcat_script", ".mp4", []byte("ffconcat version 1.0\nfile '" + c.Path + "'\n")},
		{"ffconcat_url", ".mp4", []byte("ffconcat version 1.0\nfile '" + c.URL + "'\n")},
		{"sdp_session", ".mp4", []byte(fmt.Sprintf("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=video %d RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n", 40000+time.Now().Nanosecond()%20000))},
		{"tty_text", ".mp4", []byte("this is plain text pretending to be a video\n" + c.Path + "\n")},
		{"srt_subtitles", ".mp4", []byte("1\n00:00:00,000 --> 00:00:01,000\n" + c.Path + "\n")},
		{"m3u_playlist_path", ".mp4", []byte(c.Path + "\n")},
	}
}
