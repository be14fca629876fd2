package builtin

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

func want(t *testing.T, name string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(name, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPath_WritesFile(t *testing.T) {
	for _, name := range []string{"heart", "confetti"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b") // created on demand
			p, err := Path(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := Lookup(name)
			if wantPath := filepath.Join(dir, name+"."+s.Format); p != wantPath {
				t.Errorf("Path = %q, want %q", p, wantPath)
			}
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, want(t, name)) {
				t.Fatalf("file content differs from Encode (err %v)", err)
			}
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", fi.Mode().Perm())
			}
		})
	}
}

func TestPath_WritesOnce(t *testing.T) {
	dir := t.TempDir()
	p, err := Path(dir, "star")
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if p2, err := Path(dir, "star"); err != nil || p2 != p {
			t.Fatalf("second Path = %q, %v", p2, err)
		}
	}
	if fi, _ := os.Stat(p); !fi.ModTime().Equal(old) {
		t.Errorf("file was rewritten (mtime %v)", fi.ModTime())
	}
}

func TestPath_RepairsStaleFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sun.png")
	if err := os.WriteFile(p, []byte("truncated"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Path(dir, "sun"); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, want(t, "sun")) {
		t.Error("stale file was not replaced")
	}
}

// TestPath_ReplacesUntrustedFile: a file with the right bytes is reused
// only when it is this user's own regular file that nobody else can
// write; otherwise whoever controls it could change it after the check.
func TestPath_ReplacesUntrustedFile(t *testing.T) {
	tests := []struct {
		name     string
		rootOnly bool
		plant    func(t *testing.T, p string, data []byte)
	}{
		{"symbolic link to the right bytes", false, func(t *testing.T, p string, data []byte) {
			other := filepath.Join(t.TempDir(), "theirs.png")
			if err := os.WriteFile(other, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(other, p); err != nil {
				t.Fatal(err)
			}
		}},
		{"world-writable file", false, func(t *testing.T, p string, data []byte) {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, 0o666); err != nil {
				t.Fatal(err)
			}
		}},
		{"another user's file", true, func(t *testing.T, p string, data []byte) {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rootOnly && os.Geteuid() != 0 {
				t.Skip("needs root to make another user's file")
			}
			dir := t.TempDir()
			data := want(t, "heart")
			tt.plant(t, filepath.Join(dir, "heart.png"), data)
			p, err := Path(dir, "heart")
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if !fi.Mode().IsRegular() || int(st.Uid) != os.Geteuid() || fi.Mode().Perm() != 0o644 {
				t.Fatalf("%s kept: %v, uid %d", p, fi.Mode(), st.Uid)
			}
			if got, _ := os.ReadFile(p); !bytes.Equal(got, data) {
				t.Fatal("wrong content")
			}
		})
	}
}

func TestPath_Concurrent(t *testing.T) {
	dir := t.TempDir()
	names := []string{"heart", "beating-heart", "rainbow-wave"}
	var wg sync.WaitGroup
	errs := make(chan error, 16*len(names))
	for i := range 16 {
		for _, name := range names {
			wg.Go(func() {
				p, err := Path(dir, name)
				if err == nil && filepath.Base(filepath.Dir(p)) != filepath.Base(dir) {
					err = errors.New("goroutine " + strconv.Itoa(i) + ": wrong dir " + p)
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, name := range names {
		s, _ := Lookup(name)
		got, err := os.ReadFile(filepath.Join(dir, name+"."+s.Format))
		if err != nil || !bytes.Equal(got, want(t, name)) {
			t.Errorf("%s: corrupt file (err %v)", name, err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(names) {
		var left []string
		for _, e := range entries {
			left = append(left, e.Name())
		}
		t.Errorf("dir holds %v, want only the %d sticker files", left, len(names))
	}
}

func TestPath_Unknown(t *testing.T) {
	dir := t.TempDir()
	if _, err := Path(dir, "nope"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Path error = %v, want ErrUnknown", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Path of an unknown sticker left %d files", len(entries))
	}
}

// TestFFprobe checks that ffprobe, which the render pipeline feeds these
// files to, reads every sticker with the right size and frame count.
func TestFFprobe(t *testing.T) {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("ffprobe not on PATH")
	}
	dir := t.TempDir()
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			p, err := Path(dir, s.Name)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "-v", "error", "-select_streams", "v:0", "-count_frames",
				"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", p).Output()
			if err != nil {
				t.Fatalf("ffprobe: %v", err)
			}
			var probe struct {
				Streams []struct {
					Codec  string `json:"codec_name"`
					Width  int    `json:"width"`
					Height int    `json:"height"`
					Frames string `json:"nb_read_frames"`
				} `json:"streams"`
			}
			if err := json.Unmarshal(out, &probe); err != nil || len(probe.Streams) != 1 {
				t.Fatalf("ffprobe output %s (err %v)", out, err)
			}
			st := probe.Streams[0]
			if st.Codec != s.Format || st.Width != s.Width || st.Height != s.Height {
				t.Errorf("ffprobe sees %s %dx%d, want %s %dx%d", st.Codec, st.Width, st.Height, s.Format, s.Width, s.Height)
			}
			if n, _ := strconv.Atoi(st.Frames); n != s.Frames {
				t.Errorf("ffprobe counts %q frames, want %d", st.Frames, s.Frames)
			}
		})
	}
}
