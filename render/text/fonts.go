package text

import (
	_ "embed"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Built-in font names accepted in Style.Font.
const (
	FontSans  = "sans"  // Go Regular
	FontSerif = "serif" // DejaVu Serif
	FontMono  = "mono"  // Go Mono
)

// MaxFontFileBytes is the largest uploaded font file Render will read.
const MaxFontFileBytes = 32 << 20

//go:embed fonts/DejaVuSerif.ttf
var dejaVuSerifTTF []byte

var builtinNames = [...]string{FontSans, FontSerif, FontMono}

// textFont is a parsed outline font plus the vertical metrics that layout
// needs, all in font units. sfnt.Font is safe for concurrent use as long as
// every goroutine brings its own sfnt.Buffer.
type textFont struct {
	f       *sfnt.Font
	upem    float64 // font units per em
	ascent  float64 // font units above the baseline
	descent float64 // font units below the baseline (positive)
	builtin bool
}

// lineUnits is the font's line height (ascent+descent) in font units.
func (tf *textFont) lineUnits() float64 { return tf.ascent + tf.descent }

var (
	builtinOnce  sync.Once
	builtinFonts [len(builtinNames)]*textFont
	builtinErr   error
)

// builtins parses the embedded fonts once; the result is shared read-only.
func builtins() ([len(builtinNames)]*textFont, error) {
	builtinOnce.Do(func() {
		srcs := [len(builtinNames)][]byte{goregular.TTF, dejaVuSerifTTF, gomono.TTF}
		for i, src := range srcs {
			tf, err := newTextFont(src)
			if err != nil {
				builtinErr = fmt.Errorf("text: built-in font %q: %w", builtinNames[i], err)
				return
			}
			tf.builtin = true
			builtinFonts[i] = tf
		}
	})
	return builtinFonts, builtinErr
}

// newTextFont parses a TrueType/OpenType font (or the first font of a
// collection) and reads its vertical metrics.
func newTextFont(src []byte) (*textFont, error) {
	f, err := sfnt.Parse(src)
	if err != nil {
		c, cerr := sfnt.ParseCollection(src)
		if cerr != nil || c.NumFonts() < 1 {
			return nil, err
		}
		if f, err = c.Font(0); err != nil {
			return nil, err
		}
	}
	upem := f.UnitsPerEm()
	if upem < 16 || upem > 16384 {
		return nil, fmt.Errorf("units per em %d out of range", upem)
	}
	// At ppem == unitsPerEm (in 26.6 units) sfnt returns values numerically
	// equal to font units, which avoids its int32 overflow at large sizes.
	var buf sfnt.Buffer
	m, err := f.Metrics(&buf, fixed.Int26_6(upem), font.HintingNone)
	if err != nil {
		return nil, err
	}
	tf := &textFont{f: f, upem: float64(upem), ascent: float64(m.Ascent), descent: float64(m.Descent)}
	if tf.ascent <= 0 || tf.descent < 0 || tf.lineUnits() < tf.upem/4 || tf.lineUnits() > 4*tf.upem {
		tf.ascent, tf.descent = 0.8*tf.upem, 0.2*tf.upem
	}
	return tf, nil
}

// uploadedKey identifies one version of an uploaded font file.
type uploadedKey struct {
	path    string
	size    int64
	modTime time.Time
}

const maxUploadedCache = 32

var (
	uploadedMu    sync.Mutex
	uploadedCache = map[uploadedKey]*textFont{}
)

// loadUploaded reads and parses the font file at path. Parsed fonts are
// cached by path, size and modification time. Every failure wraps
// ErrFontUnreadable.
func loadUploaded(path string) (*textFont, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrFontUnreadable, path, err)
	}
	if !fi.Mode().IsRegular() || fi.Size() > MaxFontFileBytes || fi.Size() < 12 {
		return nil, fmt.Errorf("%w: %q: not a regular font-sized file", ErrFontUnreadable, path)
	}
	key := uploadedKey{path: path, size: fi.Size(), modTime: fi.ModTime()}
	uploadedMu.Lock()
	tf := uploadedCache[key]
	uploadedMu.Unlock()
	if tf != nil {
		return tf, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrFontUnreadable, path, err)
	}
	if len(src) > MaxFontFileBytes {
		return nil, fmt.Errorf("%w: %q: file too large", ErrFontUnreadable, path)
	}
	tf, err = newTextFont(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrFontUnreadable, path, err)
	}
	uploadedMu.Lock()
	if len(uploadedCache) >= maxUploadedCache {
		clear(uploadedCache)
	}
	uploadedCache[key] = tf
	uploadedMu.Unlock()
	return tf, nil
}

// fontChain returns the fonts to try for a rune, primary first, then the
// remaining built-in fonts in builtinNames order.
func fontChain(name string) ([]*textFont, error) {
	bs, err := builtins()
	if err != nil {
		return nil, err
	}
	var primary *textFont
	for i, n := range builtinNames {
		if n == name {
			primary = bs[i]
		}
	}
	if primary == nil {
		if primary, err = loadUploaded(name); err != nil {
			return nil, err
		}
	}
	chain := []*textFont{primary}
	for _, b := range bs {
		if b != primary {
			chain = append(chain, b)
		}
	}
	return chain, nil
}

// FontFile returns the TrueType bytes of a built-in font ("sans", "serif",
// "mono"), for renderers that draw text themselves (ffmpeg's drawtext).
func FontFile(name string) ([]byte, bool) {
	switch name {
	case FontSans, "":
		return goregular.TTF, true
	case FontSerif:
		return dejaVuSerifTTF, true
	case FontMono:
		return gomono.TTF, true
	}
	return nil, false
}
