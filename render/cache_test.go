package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/stickerd/stickerd/render/spec"
)

// fakeTools is a CacheDir and WorkDir of a test's own, with a fake ffmpeg
// and nvidia-smi that log each run to a file.
type fakeTools struct {
	t        *testing.T
	dir      string
	cfg      Config
	ffLog    string
	smiLog   string
	ffScript string
}

func newFakeTools(t *testing.T) *fakeTools {
	dir := t.TempDir()
	f := &fakeTools{t: t, dir: dir, ffLog: filepath.Join(dir, "ffmpeg.log"), smiLog: filepath.Join(dir, "smi.log")}
	f.cfg = DefaultConfig()
	f.cfg.WorkDir, f.cfg.CacheDir = filepath.Join(dir, "work"), filepath.Join(dir, "cache")
	f.cfg.FFprobe = fakeBin(t, dir, "ffprobe", "exit 1\n")
	f.cfg.NvidiaSMI = filepath.Join(dir, "nvidia-smi") // absent
	f.setFFmpeg(fakeFFmpegScript)
	return f
}

// setFFmpeg (re)writes the fake ffmpeg; every run appends its arguments to
// the log.
func (f *fakeTools) setFFmpeg(script string) {
	f.ffScript = script
	f.cfg.FFmpeg = fakeBin(f.t, f.dir, "ffmpeg", `echo "$*" >> '`+f.ffLog+"'\n"+script)
}

func (f *fakeTools) setSMI(script string) {
	fakeBin(f.t, f.dir, "nvidia-smi", `echo "$*" >> '`+f.smiLog+"'\n"+script)
}

func runs(t *testing.T, log string) int {
	t.Helper()
	b, err := os.ReadFile(log)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

func (f *fakeTools) newEngine() *Engine {
	f.t.Helper()
	e, err := New(context.Background(), f.cfg)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	return e
}

func (f *fakeTools) cacheFiles() []string {
	m, _ := filepath.Glob(filepath.Join(f.cfg.CacheDir, "ffmpeg-caps-*.json"))
	return m
}

// ageGPUEntry moves the remembered GPU probe back by d.
func (f *fakeTools) ageGPUEntry(d time.Duration) {
	f.t.Helper()
	files := f.cacheFiles()
	if len(files) != 1 {
		f.t.Fatalf("%d capability cache files, want 1", len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		f.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		f.t.Fatal(err)
	}
	g, ok := m["gpu"].(map[string]any)
	if !ok {
		f.t.Fatalf("no GPU entry in %s", b)
	}
	at, _ := time.Parse(time.RFC3339Nano, g["probed_at"].(string))
	g["probed_at"] = at.Add(-d).Format(time.RFC3339Nano)
	b, _ = json.Marshal(m)
	if err := os.WriteFile(files[0], b, 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func TestNew_CapabilityCache(t *testing.T) {
	f := newFakeTools(t)
	e := f.newEngine()
	if n := runs(t, f.ffLog); n != 3 {
		t.Fatalf("first New ran ffmpeg %d times, want 3 (-version, -encoders, -filters)", n)
	}
	want := e.Capabilities()

	t.Run("hit", func(t *testing.T) {
		before := runs(t, f.ffLog)
		got := f.newEngine().Capabilities()
		if n := runs(t, f.ffLog) - before; n != 0 {
			t.Fatalf("second New ran ffmpeg %d times, want 0 (cached)", n)
		}
		if got.FFmpegVersion != want.FFmpegVersion || !got.Has("libx264") || !got.Has("h264_nvenc") || !got.Filters["scale_cuda"] || !got.Filters["overlay"] ||
			len(got.Encoders) != len(want.Encoders) || len(got.Filters) != len(want.Filters) || got.GPU != GPUNone {
			t.Fatalf("cached capabilities %+v, probed %+v", got, want)
		}
		if files := f.cacheFiles(); len(files) != 1 {
			t.Fatalf("cache files %v, want one", files)
		} else if fi, _ := os.Stat(files[0]); fi.Mode().Perm() != 0o600 {
			t.Errorf("cache file mode %v, want 0600", fi.Mode().Perm())
		}
	})

	t.Run("touched binary", func(t *testing.T) {
		before := runs(t, f.ffLog)
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(f.cfg.FFmpeg, later, later); err != nil {
			t.Fatal(err)
		}
		f.newEngine()
		if n := runs(t, f.ffLog) - before; n != 3 {
			t.Fatalf("New after touching ffmpeg ran it %d times, want 3", n)
		}
		f.newEngine()
		if n := runs(t, f.ffLog) - before; n != 3 {
			t.Fatalf("the new probe was not cached: %d runs", n-3)
		}
	})

	t.Run("changed binary", func(t *testing.T) {
		before := runs(t, f.ffLog)
		f.setFFmpeg(strings.Replace(fakeFFmpegScript, `A..... aac  AAC\n`, `A..... aac  AAC\n V....D libvpx-vp9  VP9\n`, 1))
		if got := f.newEngine().Capabilities(); !got.Has("libvpx-vp9") {
			t.Fatalf("the new build's encoder is missing: %+v", got.Encoders)
		}
		if n := runs(t, f.ffLog) - before; n != 3 {
			t.Fatalf("New after replacing ffmpeg ran it %d times, want 3", n)
		}
	})

	t.Run("corrupt cache file", func(t *testing.T) {
		for _, junk := range []string{"{not json", "", `{"schema":1,"key":"x"}`, "\x00\x01"} {
			files := f.cacheFiles()
			if len(files) != 1 {
				t.Fatalf("cache files %v, want one", files)
			}
			if err := os.WriteFile(files[0], []byte(junk), 0o600); err != nil {
				t.Fatal(err)
			}
			before := runs(t, f.ffLog)
			if got := f.newEngine().Capabilities(); !got.Has("libx264") || got.FFmpegVersion == "" {
				t.Fatalf("capabilities after a corrupt cache (%q): %+v", junk, got)
			}
			if n := runs(t, f.ffLog) - before; n != 3 {
				t.Fatalf("corrupt cache %q: ffmpeg ran %d times, want 3", junk, n)
			}
			var c capsCacheFile
			if b, err := os.ReadFile(files[0]); err != nil || json.Unmarshal(b, &c) != nil || c.Version != "5.1.9-0+deb12u1" {
				t.Fatalf("cache not rewritten after %q: %s %v", junk, b, err)
			}
		}
	})

	t.Run("cache file of another user or mode", func(t *testing.T) {
		files := f.cacheFiles()
		if len(files) != 1 {
			t.Fatalf("cache files %v, want one", files)
		}
		if err := os.Chmod(files[0], 0o666); err != nil {
			t.Fatal(err)
		}
		before := runs(t, f.ffLog)
		f.newEngine()
		if n := runs(t, f.ffLog) - before; n != 3 {
			t.Fatalf("a world-writable cache file was trusted (%d ffmpeg runs)", n)
		}
	})

	t.Run("a failed probe is not remembered", func(t *testing.T) {
		f.setFFmpeg("exit 1\n")
		before := runs(t, f.ffLog)
		if _, err := New(context.Background(), f.cfg); err == nil {
			t.Fatal("New accepted an ffmpeg without libx264")
		}
		f.setFFmpeg(fakeFFmpegScript)
		if got := f.newEngine().Capabilities(); !got.Has("libx264") {
			t.Fatalf("capabilities %+v", got)
		}
		if n := runs(t, f.ffLog) - before; n != 6 {
			t.Fatalf("ffmpeg ran %d times, want 3 + 3", n)
		}
	})
}

func TestNew_CapabilityCacheGPU(t *testing.T) {
	f := newFakeTools(t)
	f.setFFmpeg("NVENC_OK=1\n" + fakeFFmpegScript)
	f.setSMI(`echo "NVIDIA L4, 550.54.15"`)
	if c := f.newEngine().Capabilities(); c.GPU != GPUCUDANVENC {
		t.Fatalf("GPU %s (%s)", c.GPU, c.GPUDetail)
	}
	ff, smi := runs(t, f.ffLog), runs(t, f.smiLog)
	if ff != 4 || smi != 1 {
		t.Fatalf("first New: %d ffmpeg runs (want 3 + the NVENC trial), %d nvidia-smi (want 1)", ff, smi)
	}

	// Within the TTL a working GPU is remembered, probe and trial encode.
	c := f.newEngine().Capabilities()
	if c.GPU != GPUCUDANVENC || c.GPUName != "NVIDIA L4" || f.newEngine().Encoder("mp4").Name != "h264_nvenc" {
		t.Fatalf("cached GPU %+v", c)
	}
	if runs(t, f.ffLog) != ff || runs(t, f.smiLog) != smi {
		t.Fatalf("a cached New ran ffmpeg %d and nvidia-smi %d more times", runs(t, f.ffLog)-ff, runs(t, f.smiLog)-smi)
	}

	// DisableGPU wins over the cache.
	f.cfg.DisableGPU = true
	if ch := f.newEngine().Encoder("mp4"); ch.Name != "libx264" || !strings.Contains(ch.Reason, "disabled") {
		t.Fatalf("with DisableGPU: %+v", ch)
	}
	f.cfg.DisableGPU = false

	// Past the TTL the GPU is probed again (the ffmpeg part is not).
	f.ageGPUEntry(gpuCacheTTL + time.Minute)
	f.newEngine()
	if runs(t, f.smiLog) != smi+1 || runs(t, f.ffLog) != ff+1 {
		t.Fatalf("after the TTL: nvidia-smi %d, ffmpeg %d more runs; want 1 and 1 (the trial)", runs(t, f.smiLog)-smi, runs(t, f.ffLog)-ff)
	}
	smi, ff = runs(t, f.smiLog), runs(t, f.ffLog)

	// A broken driver is never remembered: every New asks again, and a
	// repaired one is seen at once.
	f.setSMI(`echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver" >&2; exit 9`)
	for i := range 2 {
		if c := f.newEngine().Capabilities(); c.GPU != GPUBroken {
			t.Fatalf("New %d with a broken driver: GPU %s (%s)", i, c.GPU, c.GPUDetail)
		}
	}
	if n := runs(t, f.smiLog) - smi; n != 2 {
		t.Fatalf("nvidia-smi ran %d times for two New with a broken driver, want 2", n)
	}
	f.setSMI(`echo "NVIDIA H100 80GB HBM3, 550.54.15"`)
	f.setFFmpeg(fakeFFmpegScript) // NVENC trial fails: CUDA only
	if c := f.newEngine().Capabilities(); c.GPU != GPUCUDAOnly || c.GPUName != "NVIDIA H100 80GB HBM3" {
		t.Fatalf("after the repair: %s %q (%s)", c.GPU, c.GPUName, c.GPUDetail)
	}

	// nvidia-smi gone: no GPU, whatever was remembered.
	if err := os.Remove(f.cfg.NvidiaSMI); err != nil {
		t.Fatal(err)
	}
	if c := f.newEngine().Capabilities(); c.GPU != GPUNone {
		t.Fatalf("without nvidia-smi: %s", c.GPU)
	}
}

func TestDefaultConfig_PerUserDirs(t *testing.T) {
	uid := strconv.Itoa(os.Geteuid())
	t.Run("user cache dir", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", filepath.Join(home, "xdg"))
		cfg := DefaultConfig()
		if want := filepath.Join(home, "xdg", "stickerd"); cfg.CacheDir != want {
			t.Fatalf("CacheDir %s, want %s", cfg.CacheDir, want)
		}
		if !strings.HasPrefix(cfg.WorkDir, cfg.CacheDir+string(filepath.Separator)) {
			t.Fatalf("WorkDir %s is not in the per-user dir %s", cfg.WorkDir, cfg.CacheDir)
		}
		if _, err := New(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{filepath.Join(home, "xdg"), cfg.CacheDir, cfg.WorkDir} {
			if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
				t.Errorf("%s: %v, want a 0700 directory (%v)", d, fi.Mode(), err)
			}
		}
	})
	t.Run("no home", func(t *testing.T) {
		tmp := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "")
		t.Setenv("TMPDIR", tmp)
		cfg := DefaultConfig()
		if want := filepath.Join(tmp, "stickerd-"+uid); cfg.CacheDir != want {
			t.Fatalf("CacheDir %s, want the per-user %s", cfg.CacheDir, want)
		}
		if !strings.HasPrefix(cfg.WorkDir, cfg.CacheDir+string(filepath.Separator)) {
			t.Fatalf("WorkDir %s is not in the per-user dir %s", cfg.WorkDir, cfg.CacheDir)
		}
		if _, err := New(context.Background(), cfg); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(cfg.CacheDir); fi.Mode().Perm() != 0o700 {
			t.Errorf("mode %v, want 0700", fi.Mode().Perm())
		}
	})
	t.Run("squatted", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to make another user's directory")
		}
		// Another user made the predictable per-user folder first.
		tmp := t.TempDir()
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", "")
		t.Setenv("TMPDIR", tmp)
		cfg := DefaultConfig()
		if err := os.Mkdir(cfg.CacheDir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(cfg.CacheDir, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := New(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "uid 65534") {
			t.Fatalf("New in another user's directory: %v", err)
		}
	})
}

func TestNew_SharedDirs(t *testing.T) {
	root := os.Geteuid() == 0
	tests := []struct {
		name     string
		rootOnly bool
		// setup makes the directory the engine is given (as CacheDir or
		// WorkDir) under base.
		setup   func(t *testing.T, base string) string
		refused string // "" when New must accept (and repair) it
		mode    os.FileMode
	}{
		{name: "ours, world-writable: repaired", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "d"), 0o777)
		}, mode: 0o700},
		{name: "ours, group-writable: repaired", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "d"), 0o770)
		}, mode: 0o700},
		{name: "ours, 0755: kept", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "d"), 0o755)
		}, mode: 0o755},
		{name: "shared sticky dir like /tmp", setup: func(t *testing.T, base string) string {
			return mkdirMode(t, filepath.Join(base, "d"), 0o777|os.ModeSticky)
		}, refused: "shared directory", mode: 0o777},
		{name: "inside another user's folder that is world-writable", rootOnly: true, setup: func(t *testing.T, base string) string {
			mkdirMode(t, filepath.Join(base, "open"), 0o777)
			d := mkdirMode(t, filepath.Join(base, "open", "d"), 0o700)
			chown(t, filepath.Join(base, "open"), false)
			return d
		}, refused: "belongs to uid 65534", mode: 0o700},
		// What Kubernetes mounts for an emptyDir volume: root's, 0777, not
		// sticky. In a single-user container that is no threat, and the
		// worker's data folder is one.
		{name: "inside a 0777 volume (Kubernetes emptyDir)", setup: func(t *testing.T, base string) string {
			mkdirMode(t, filepath.Join(base, "vol"), 0o777|os.ModeSetgid)
			return filepath.Join(base, "vol", "d") // created by New
		}, mode: 0o700},
		{name: "inside a sticky shared folder", setup: func(t *testing.T, base string) string {
			mkdirMode(t, filepath.Join(base, "tmp"), 0o777|os.ModeSticky)
			return mkdirMode(t, filepath.Join(base, "tmp", "d"), 0o700)
		}, mode: 0o700},
		{name: "a symbolic link of ours", setup: func(t *testing.T, base string) string {
			mkdirMode(t, filepath.Join(base, "real"), 0o700)
			symlink(t, filepath.Join(base, "real"), filepath.Join(base, "d"))
			return filepath.Join(base, "d")
		}, mode: 0o700},
		{name: "another user's", rootOnly: true, setup: func(t *testing.T, base string) string {
			d := mkdirMode(t, filepath.Join(base, "d"), 0o755)
			chown(t, d, false)
			return d
		}, refused: "belongs to uid 65534", mode: 0o755},
		{name: "another user's symbolic link", rootOnly: true, setup: func(t *testing.T, base string) string {
			mkdirMode(t, filepath.Join(base, "real"), 0o700)
			symlink(t, filepath.Join(base, "real"), filepath.Join(base, "d"))
			chown(t, filepath.Join(base, "d"), true)
			return filepath.Join(base, "d")
		}, refused: "symbolic link of uid 65534", mode: 0o700},
		{name: "inside another user's folder", rootOnly: true, setup: func(t *testing.T, base string) string {
			mkdirMode(t, filepath.Join(base, "theirs"), 0o755)
			d := mkdirMode(t, filepath.Join(base, "theirs", "d"), 0o700)
			chown(t, filepath.Join(base, "theirs"), false)
			return d
		}, refused: "belongs to uid 65534", mode: 0o700},
	}
	for _, tt := range tests {
		for _, which := range []string{"CacheDir", "WorkDir"} {
			t.Run(tt.name+"/"+which, func(t *testing.T) {
				if tt.rootOnly && !root {
					t.Skip("needs root to make another user's files")
				}
				f := newFakeTools(t)
				d := tt.setup(t, t.TempDir())
				if which == "CacheDir" {
					f.cfg.CacheDir = d
				} else {
					f.cfg.WorkDir = d
				}
				_, err := New(context.Background(), f.cfg)
				switch {
				case tt.refused == "" && err != nil:
					t.Fatalf("New refused %s: %v", d, err)
				case tt.refused != "" && (err == nil || !strings.Contains(err.Error(), tt.refused)):
					t.Fatalf("New with %s: error %v, want one saying %q", d, err, tt.refused)
				}
				if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != tt.mode {
					t.Fatalf("%s mode %v afterwards, want %v (%v)", d, fi.Mode(), tt.mode, err)
				}
			})
		}
	}
}

func mkdirMode(t *testing.T, d string, mode os.FileMode) string {
	t.Helper()
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, mode); err != nil { // past the umask
		t.Fatal(err)
	}
	return d
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func chown(t *testing.T, p string, link bool) {
	t.Helper()
	chown := os.Chown
	if link {
		chown = os.Lchown
	}
	if err := chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// fontFileArg is the font file drawtext read, from the ffmpeg command line.
func fontFileArg(t *testing.T, res *Result) string {
	t.Helper()
	m := regexp.MustCompile(`fontfile=([^:]+):`).FindStringSubmatch(strings.Join(res.Args, " "))
	if m == nil {
		t.Fatalf("no drawtext fontfile in %q", res.Args)
	}
	return m[1]
}

// TestRender_PlantedFontIgnored plants other fonts where a shared cache
// would have had the engine's font: drawtext must still read the real one.
func TestRender_PlantedFontIgnored(t *testing.T) {
	skipShort(t)
	f := newFixtures(t)
	cfg := DefaultConfig()
	cfg.WorkDir, cfg.CacheDir = filepath.Join(f.dir, "work"), filepath.Join(f.dir, "cache")
	eng, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := spec.Parse([]byte(`{"source":{"color":"#000000","width":64,"height":64,"duration":0.2,"fps":10},
		"stickers":[{"type":"text","text":"Hi","font":"sans"}]}`), spec.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	render := func() string {
		t.Helper()
		res, err := eng.Render(context.Background(), Job{Spec: s, Output: filepath.Join(f.dir, "out.mp4")})
		if err != nil {
			t.Fatal(err)
		}
		used := fontFileArg(t, res)
		if filepath.Dir(used) != cfg.CacheDir {
			t.Fatalf("font %s is not in CacheDir", used)
		}
		fi, err := os.Lstat(used)
		if err != nil || !fi.Mode().IsRegular() {
			t.Fatalf("font %s is not a regular file: %v %v", used, fi.Mode(), err)
		}
		if got, _ := os.ReadFile(used); !bytes.Equal(got, goregular.TTF) {
			t.Fatalf("drawtext read %s, %d bytes, not the engine's sans font", used, len(got))
		}
		return used
	}

	// Where the engine used to look for it, before its first render.
	if err := os.MkdirAll(cfg.CacheDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.CacheDir, "font-sans.ttf"), gomono.TTF, 0o644); err != nil {
		t.Fatal(err)
	}
	used := render()

	// At the file it uses now: another font, a truncated one, a link.
	plants := map[string]func(){
		"other font": func() { os.WriteFile(used, gomono.TTF, 0o644) },
		"truncated":  func() { os.WriteFile(used, goregular.TTF[:1000], 0o644) },
		"same size": func() {
			b := bytes.Clone(goregular.TTF)
			b[len(b)/2] ^= 0xff
			os.WriteFile(used, b, 0o644)
		},
		"symbolic link": func() {
			other := filepath.Join(f.dir, "elsewhere.ttf")
			os.WriteFile(other, goregular.TTF, 0o644)
			os.Remove(used)
			os.Symlink(other, used)
		},
		"world-writable": func() { os.Chmod(used, 0o666) },
	}
	for name, plant := range plants {
		plant()
		if got := render(); got != used {
			t.Errorf("%s: font moved from %s to %s", name, used, got)
		}
	}
}
