package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// The engine's directories hold files that ffmpeg reads by name (fonts,
// built-in stickers, per-job scratch) and the capability probe it trusts.
// Another user who can write to them can swap what a render reads, so the
// engine only uses directories that this user alone can change: owned by
// this user, not writable by group or others, below folders that others
// cannot rename them out of. Files in them are still checked before use.

// privateDir creates dir (mode 0700, parents as needed) or checks the one
// that is there: it must be a directory owned by this user, and no folder
// or symbolic link on the way to it may belong to another user (root
// aside), who could rename it away or point the path elsewhere. A
// directory of ours that group or others can write to is repaired to
// 0700; a shared sticky directory (like /tmp itself) or someone else's is
// refused.
//
// The folders above may be writable by others: that is a shared host's
// misconfiguration, which the defaults never rely on (the home directory,
// or /tmp, whose sticky bit keeps others from renaming our entries), and
// a single-user container's norm, as Kubernetes makes emptyDir volumes
// 0777 without the sticky bit.
func privateDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return err
	}
	if err := os.Mkdir(abs, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := checkPath(abs); err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return err
	}
	if real != abs {
		if err := checkPath(real); err != nil {
			return err
		}
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if uid := fileUID(fi); uid != os.Geteuid() {
		return fmt.Errorf("%s belongs to uid %d, not to this user (uid %d): it could swap the files in it; remove it or configure another directory", dir, uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		if fi.Mode()&fs.ModeSticky != 0 {
			return fmt.Errorf("%s is a shared directory (mode %v); the engine needs a private one, such as a folder inside it", dir, fi.Mode())
		}
		// Ours, but others could have planted files: close it. What they
		// left is not trusted, as every cached file is verified on use.
		if err := os.Chmod(real, 0o700); err != nil {
			return err
		}
	}
	return nil
}

// checkPath checks the components of the absolute path p: no symbolic
// link, nor any folder above the last component, may belong to a user
// other than this one or root. The last component, when a directory, is
// the caller's to check.
func checkPath(p string) error {
	for leaf := true; ; leaf = false {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		uid := fileUID(fi)
		trusted := uid == 0 || uid == os.Geteuid()
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			if !trusted {
				return fmt.Errorf("%s is a symbolic link of uid %d, who could point it elsewhere", p, uid)
			}
		case leaf:
		case !trusted:
			return fmt.Errorf("folder %s belongs to uid %d, who could replace what is below it", p, uid)
		}
		next := filepath.Dir(p)
		if next == p {
			return nil
		}
		p = next
	}
}

func fileUID(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// readOwned reads a file this user owns and nobody else can write, not
// following a symbolic link at its name; anything else is an error, and
// the caller treats the file as missing. At most limit bytes are read.
func readOwned(path string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch {
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s is not a regular file", path)
	case fileUID(fi) != os.Geteuid():
		return nil, fmt.Errorf("%s belongs to uid %d", path, fileUID(fi))
	case fi.Mode().Perm()&0o022 != 0:
		return nil, fmt.Errorf("%s is writable by other users", path)
	case fi.Size() > limit:
		return nil, fmt.Errorf("%s is larger than expected", path)
	}
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// cachedFile returns the path of a file in dir that holds exactly data,
// named by its content (prefix-<first 16 hex digits of the SHA-256>ext).
// The file is checked on every call, as ffmpeg reads it by name: whatever
// is there that is not our own regular file with these exact bytes is
// replaced, atomically, so concurrent readers see the old file or the new.
// dir must be private (privateDir).
func cachedFile(dir, prefix, ext string, data []byte, sum [sha256.Size]byte) (string, error) {
	p := filepath.Join(dir, prefix+"-"+hex.EncodeToString(sum[:8])+ext)
	if old, err := readOwned(p, int64(len(data))); err == nil && bytes.Equal(old, data) {
		return p, nil
	}
	if err := writeFileAtomic(p, data, 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// writeFileAtomic writes data to a new temporary file beside path and
// renames it over path (which replaces a symbolic link rather than
// following it).
func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// The capability probe (ffmpeg -version, -encoders, -filters: about 0.2 s
// of process starts) would be most of the engine's overhead on a short
// job, so New keeps its result in CacheDir, one file per ffmpeg binary.
// An entry holds while the binary is the same file (path, size, mtime,
// device and inode), the shared libraries it loads have not been reinstalled
// (the dynamic linker's cache is rewritten whenever they are) and it is
// younger than capsCacheTTL. The GPU is machine state that can break at
// any time, so only a working GPU is remembered (with the GPU chains'
// trial, gpu.go), keyed by nvidia-smi and the loaded driver, and only for
// gpuCacheTTL; without nvidia-smi the check is a PATH look-up, and a
// failing GPU is probed again every run.
var (
	capsCacheTTL = 24 * time.Hour
	gpuCacheTTL  = 10 * time.Minute
)

const capsCacheSchema = 2 // 2: the GPU entry holds the chains' trial

// capsCacheFile is the JSON kept in CacheDir/ffmpeg-caps-<hash of the
// binary's path>.json.
type capsCacheFile struct {
	Schema   int            `json:"schema"`
	Key      string         `json:"key"` // the binary's identity, see ffmpegKey
	ProbedAt time.Time      `json:"probed_at"`
	Version  string         `json:"ffmpeg_version"`
	Encoders []string       `json:"encoders"`
	Filters  []string       `json:"filters"`
	GPU      *gpuCacheEntry `json:"gpu,omitempty"`
}

type gpuCacheEntry struct {
	Key      string    `json:"key"` // nvidia-smi's identity and the loaded driver
	ProbedAt time.Time `json:"probed_at"`
	State    GPUState  `json:"state"`
	Name     string    `json:"name"`
	Detail   string    `json:"detail"`
	Chains   []string  `json:"chains,omitempty"` // GPU chains whose trial succeeded
	ChainLog string    `json:"chain_detail,omitempty"`
}

// cachedCapabilities is DetectCapabilities with its ffmpeg part (and a
// working GPU's result) remembered across runs in cfg.CacheDir, which must
// be private. Anything unreadable in the cache is ignored and rewritten.
func cachedCapabilities(ctx context.Context, cfg Config) Capabilities {
	bin, err := exec.LookPath(cfg.FFmpeg)
	if err != nil {
		return DetectCapabilities(ctx, cfg)
	}
	bin, err = filepath.Abs(bin)
	if err == nil {
		bin, err = filepath.EvalSymlinks(bin)
	}
	if err != nil {
		return DetectCapabilities(ctx, cfg)
	}
	key, err := ffmpegKey(bin)
	if err != nil {
		return DetectCapabilities(ctx, cfg)
	}
	sum := sha256.Sum256([]byte(bin))
	path := filepath.Join(cfg.CacheDir, "ffmpeg-caps-"+hex.EncodeToString(sum[:8])+".json")
	now := time.Now()

	entry, ok := readCapsCache(path, key, capsCacheTTL, now)
	dirty := !ok
	var c Capabilities
	if ok {
		c = Capabilities{FFmpegVersion: entry.Version, Encoders: setOf(entry.Encoders), Filters: setOf(entry.Filters), GPU: GPUNone}
	} else {
		c = probeFFmpeg(ctx, bin)
		entry = &capsCacheFile{Schema: capsCacheSchema, Key: key, ProbedAt: now, Version: c.FFmpegVersion,
			Encoders: sortedKeys(c.Encoders), Filters: sortedKeys(c.Filters)}
	}

	if cfg.DisableGPU {
		c.GPUDetail = "GPU disabled by configuration"
	} else if smi, err := exec.LookPath(cfg.NvidiaSMI); err != nil {
		c.GPU, c.GPUDetail = GPUNone, "nvidia-smi not found"
	} else {
		gkey := gpuKey(smi)
		if g := entry.GPU; g != nil && gkey != "" && g.Key == gkey && fresh(g.ProbedAt, gpuCacheTTL, now) {
			c.GPU, c.GPUName, c.GPUDetail = g.State, g.Name, g.Detail
			c.GPUChains, c.GPUChainDetail = g.Chains, g.ChainLog
		} else {
			c.GPU, c.GPUName, c.GPUDetail = detectGPU(ctx, cfg, c)
			c.GPUChains, c.GPUChainDetail = trialGPUChains(ctx, cfg, c)
			var g *gpuCacheEntry
			if gkey != "" && (c.GPU == GPUCUDANVENC || c.GPU == GPUCUDAOnly) {
				g = &gpuCacheEntry{Key: gkey, ProbedAt: time.Now(), State: c.GPU, Name: c.GPUName, Detail: c.GPUDetail,
					Chains: c.GPUChains, ChainLog: c.GPUChainDetail}
			}
			if g != nil || entry.GPU != nil {
				entry.GPU, dirty = g, true
			}
		}
	}

	// A probe that found nothing (ffmpeg failed, or ctx ended) is not
	// remembered: the next run asks again.
	if dirty && entry.Version != "" && len(entry.Encoders) > 0 && ctx.Err() == nil {
		if b, err := json.Marshal(entry); err == nil {
			_ = writeFileAtomic(path, b, 0o600) // a cache: failing to write only costs the next run a probe
		}
	}
	return c
}

// readCapsCache returns the entry at path when it is ours, parses, and
// matches key within ttl.
func readCapsCache(path, key string, ttl time.Duration, now time.Time) (*capsCacheFile, bool) {
	b, err := readOwned(path, 4<<20)
	if err != nil {
		return nil, false
	}
	var e capsCacheFile
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, false
	}
	if e.Schema != capsCacheSchema || e.Key != key || e.Version == "" || len(e.Encoders) == 0 || !fresh(e.ProbedAt, ttl, now) {
		return nil, false
	}
	return &e, true
}

// fresh reports whether t is within ttl before now (and not in the future,
// which a clock step could make it).
func fresh(t time.Time, ttl time.Duration, now time.Time) bool {
	age := now.Sub(t)
	return age >= -time.Minute && age < ttl
}

// ffmpegKey identifies the binary and what it loads: a package upgrade
// installs a new file (new inode, size and mtime), and installing or
// upgrading a shared library reruns ldconfig, which replaces
// /etc/ld.so.cache.
func ffmpegKey(bin string) (string, error) {
	id, err := fileIdentity(bin)
	if err != nil {
		return "", err
	}
	k := bin + "|" + id
	if ld, err := fileIdentity("/etc/ld.so.cache"); err == nil {
		k += "|ld.so.cache " + ld
	}
	if v := os.Getenv("LD_LIBRARY_PATH"); v != "" {
		k += "|LD_LIBRARY_PATH=" + v
	}
	return k, nil
}

// gpuKey identifies nvidia-smi and the loaded NVIDIA driver; "" when
// nvidia-smi cannot be read, and then nothing about the GPU is cached.
func gpuKey(smi string) string {
	if r, err := filepath.EvalSymlinks(smi); err == nil {
		smi = r
	}
	id, err := fileIdentity(smi)
	if err != nil {
		return ""
	}
	k := smi + "|" + id
	if v, err := os.ReadFile("/proc/driver/nvidia/version"); err == nil {
		sum := sha256.Sum256(v)
		k += "|driver " + hex.EncodeToString(sum[:8])
	} else {
		k += "|no driver"
	}
	return k
}

func fileIdentity(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	id := fmt.Sprintf("size %d mtime %d", fi.Size(), fi.ModTime().UnixNano())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id += fmt.Sprintf(" dev %d ino %d", st.Dev, st.Ino)
	}
	return id, nil
}

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k, ok := range m {
		if ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
