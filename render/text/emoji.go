package text

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"os"
	"sync"
)

// Colour emoji come from a CBDT/CBLC font such as Noto Color Emoji. It is not
// shipped with the package: Render uses the file named by the environment
// variable EmojiFontEnv, or DefaultEmojiFont when that is unset, and draws no
// emoji (they take no space) when the file is missing or cannot be parsed.
const (
	DefaultEmojiFont = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
	EmojiFontEnv     = "STICKERD_EMOJI_FONT"
)

const (
	maxEmojiFontBytes = 64 << 20
	maxEmojiDim       = 1024 // largest bitmap side accepted from the font
	maxEmojiCached    = 2048 // decoded glyph bitmaps kept per font
	maxEmojiFonts     = 4
)

// emojiFont is a parsed colour bitmap font. Its tables are read-only after
// parsing; the decoded-glyph cache is guarded by mu.
type emojiFont struct {
	cmap       *cmapTable
	cblc, cbdt []byte
	strike     bitmapStrike
	ascent     float64 // line box ascent in strike pixels
	lineH      float64 // line box height (ascent+descent) in strike pixels
	ligs       []ligLookup
	invisible  map[int]bool // glyphs of joiners/selectors/tags, never drawn

	mu    sync.Mutex
	cache map[int]*emojiGlyph // nil value: known to have no usable bitmap
}

// emojiGlyph is a decoded bitmap glyph and its metrics in strike pixels.
type emojiGlyph struct {
	img image.Image // *image.NRGBA or *image.RGBA
	m   glyphMetrics
}

var (
	emojiMu    sync.Mutex
	emojiFonts = map[uploadedKey]*emojiFont{} // nil value: unusable file
)

// loadEmojiFont returns the configured emoji font, or nil when there is none.
// Fonts are cached by path, size and modification time.
func loadEmojiFont() *emojiFont {
	path := os.Getenv(EmojiFontEnv)
	if path == "" {
		path = DefaultEmojiFont
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxEmojiFontBytes {
		return nil
	}
	key := uploadedKey{path: path, size: fi.Size(), modTime: fi.ModTime()}
	emojiMu.Lock()
	defer emojiMu.Unlock()
	if ef, ok := emojiFonts[key]; ok {
		return ef
	}
	var ef *emojiFont
	if data, err := os.ReadFile(path); err == nil && len(data) <= maxEmojiFontBytes {
		ef, _ = parseEmojiFont(data)
	}
	if len(emojiFonts) >= maxEmojiFonts {
		clear(emojiFonts)
	}
	emojiFonts[key] = ef
	return ef
}

// parseEmojiFont reads the tables a colour bitmap font needs. It picks the
// strike with the largest ppem, which gives the best downscaled quality.
func parseEmojiFont(data []byte) (*emojiFont, error) {
	tables, err := parseTableDir(data)
	if err != nil {
		return nil, err
	}
	cmap, err := parseCmap(tables["cmap"])
	if err != nil {
		return nil, err
	}
	strikes, err := parseCBLC(tables["CBLC"])
	if err != nil {
		return nil, err
	}
	if tables["CBDT"] == nil {
		return nil, errCorrupt
	}
	ef := &emojiFont{cmap: cmap, cblc: tables["CBLC"], cbdt: tables["CBDT"], cache: map[int]*emojiGlyph{}}
	for _, s := range strikes {
		if s.ppemY > ef.strike.ppemY {
			ef.strike = s
		}
	}
	ppem := float64(ef.strike.ppemY)
	head, hhea := &rd{b: tables["head"]}, &rd{b: tables["hhea"]}
	upem, asc, desc := float64(head.u16(18)), float64(hhea.i16(4)), -float64(hhea.i16(6))
	switch {
	case !head.bad && !hhea.bad && upem >= 16 && asc > 0 && desc >= 0:
		ef.ascent, ef.lineH = asc/upem*ppem, (asc+desc)/upem*ppem
	case ef.strike.asc > 0 && ef.strike.desc >= 0:
		ef.ascent, ef.lineH = float64(ef.strike.asc), float64(ef.strike.asc+ef.strike.desc)
	}
	if ef.lineH < ppem/2 || ef.lineH > 3*ppem {
		ef.ascent, ef.lineH = 0.8*ppem, ppem
	}
	ef.ligs = parseGSUBLigatures(tables["GSUB"])
	ef.invisible = map[int]bool{}
	for _, r := range []rune{zwj, 0x200C, vs15, vs16, 0x2060} {
		if g := cmap.glyph(r); g != 0 {
			ef.invisible[g] = true
		}
	}
	for r := rune(0xE0020); r <= 0xE007F; r++ {
		if g := cmap.glyph(r); g != 0 {
			ef.invisible[g] = true
		}
	}
	return ef, nil
}

// has reports whether the font maps r.
func (ef *emojiFont) has(r rune) bool { return ef != nil && ef.cmap.glyph(r) != 0 }

// glyph returns glyph gid decoded, or nil when it has no usable bitmap.
func (ef *emojiFont) glyph(gid int) *emojiGlyph {
	ef.mu.Lock()
	g, ok := ef.cache[gid]
	ef.mu.Unlock()
	if ok {
		return g
	}
	g = ef.decode(gid)
	ef.mu.Lock()
	if len(ef.cache) >= maxEmojiCached {
		clear(ef.cache)
	}
	ef.cache[gid] = g
	ef.mu.Unlock()
	return g
}

// decode extracts and decodes the PNG of glyph gid, refusing oversized
// images before decoding them.
func (ef *emojiFont) decode(gid int) *emojiGlyph {
	data, m, ok := ef.strike.glyphPNG(ef.cblc, ef.cbdt, gid)
	if !ok {
		return nil
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxEmojiDim || cfg.Height > maxEmojiDim {
		return nil
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil
	}
	switch img.(type) {
	case *image.NRGBA, *image.RGBA:
	default: // paletted, grey, 16-bit: convert once for the fast scaling path
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
		img = rgba
	}
	return &emojiGlyph{img: img, m: m}
}
