package text

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font/sfnt"
)

// Segmentation turns text into lines of glyph references: each rune goes to
// the first font in the chain that has it, emoji sequences go to the emoji
// font, and anything nobody can draw is dropped (zero width) rather than
// drawn as a .notdef box.

const (
	zwj  = 0x200D // zero width joiner
	vs15 = 0xFE0E // text presentation selector
	vs16 = 0xFE0F // emoji presentation selector
)

// emojiFontRef marks a glyphRef that refers to the emoji font.
const emojiFontRef = -1

// glyphRef is one glyph to draw: font indexes the font chain, or is
// emojiFontRef.
type glyphRef struct {
	font, gid int
}

// splitLines decodes s into lines of runes. Invalid UTF-8, U+FFFD and
// control characters are dropped; '\n', U+2028 and U+2029 break lines; each
// line is trimmed of surrounding whitespace and blank lines at the start and
// end are removed. It returns nil when nothing but whitespace and invisible
// format characters remain.
func splitLines(s string) [][]rune {
	var lines [][]rune
	var cur []rune
	visible := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '\n' || r == 0x2028 || r == 0x2029:
			lines = append(lines, trimSpace(cur))
			cur = nil
		case r == utf8.RuneError || unicode.IsControl(r):
		default:
			cur = append(cur, r)
			visible = visible || !(unicode.IsSpace(r) || isIgnorable(r))
		}
	}
	lines = append(lines, trimSpace(cur))
	if !visible {
		return nil
	}
	for len(lines[0]) == 0 {
		lines = lines[1:]
	}
	for len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func trimSpace(rs []rune) []rune {
	for len(rs) > 0 && unicode.IsSpace(rs[0]) {
		rs = rs[1:]
	}
	for len(rs) > 0 && unicode.IsSpace(rs[len(rs)-1]) {
		rs = rs[:len(rs)-1]
	}
	return rs
}

// isIgnorable reports invisible format characters (joiners, variation
// selectors, bidi marks, tags, ...) that are never drawn on their own.
func isIgnorable(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

func isPrivateUse(r rune) bool { return unicode.Is(unicode.Co, r) }

func isSkinTone(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }

func isRegionalIndicator(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

func isTag(r rune) bool { return r >= 0xE0020 && r <= 0xE007F }

// bmpEmojiPresentation lists the BMP code points whose default presentation
// is emoji (Unicode Emoji_Presentation=Yes); everything from U+1F000 up is
// treated as emoji-presentation when the emoji font has it.
var bmpEmojiPresentation = &unicode.RangeTable{R16: []unicode.Range16{
	{0x231A, 0x231B, 1}, {0x23E9, 0x23EC, 1}, {0x23F0, 0x23F3, 3}, {0x25FD, 0x25FE, 1},
	{0x2614, 0x2615, 1}, {0x2648, 0x2653, 1}, {0x267F, 0x2693, 20}, {0x26A1, 0x26A1, 1},
	{0x26AA, 0x26AB, 1}, {0x26BD, 0x26BE, 1}, {0x26C4, 0x26C5, 1}, {0x26CE, 0x26D4, 6},
	{0x26EA, 0x26EA, 1}, {0x26F2, 0x26F3, 1}, {0x26F5, 0x26FA, 5}, {0x26FD, 0x2705, 8},
	{0x270A, 0x270B, 1}, {0x2728, 0x2728, 1}, {0x274C, 0x274E, 2}, {0x2753, 0x2755, 1},
	{0x2757, 0x2757, 1}, {0x2795, 0x2797, 1}, {0x27B0, 0x27BF, 15}, {0x2B1B, 0x2B1C, 1},
	{0x2B50, 0x2B55, 5},
}}

// wantsEmoji reports whether r (followed by next, or -1) should be drawn as
// a colour emoji in preference to a text glyph.
func wantsEmoji(r, next rune) bool {
	switch {
	case next == vs15:
		return false
	case next == vs16 || next == 0x20E3 || next == zwj || isSkinTone(next):
		return true
	}
	return r >= 0x1F000 || unicode.Is(bmpEmojiPresentation, r)
}

// segmenter resolves runes to glyphs for one Render call; its sfnt buffers
// make it unsafe for concurrent use.
type segmenter struct {
	chain []*textFont
	bufs  []sfnt.Buffer
	emoji *emojiFont // valid once emojiLoaded
	// emojiLoaded is set once the emoji font has been looked up, which only
	// happens when some rune needs it.
	emojiLoaded bool
}

func newSegmenter(chain []*textFont) *segmenter {
	return &segmenter{chain: chain, bufs: make([]sfnt.Buffer, len(chain))}
}

// emojiHas reports whether the emoji font (loaded on first use) has r.
func (sg *segmenter) emojiHas(r rune) bool {
	if !sg.emojiLoaded {
		sg.emoji, sg.emojiLoaded = loadEmojiFont(), true
	}
	return sg.emoji.has(r)
}

// textGlyph finds r in the font chain. Private-use code points are only
// taken from an uploaded primary font, never from the built-in fonts.
func (sg *segmenter) textGlyph(r rune) (glyphRef, bool) {
	pua := isPrivateUse(r)
	for i, tf := range sg.chain {
		if pua && tf.builtin {
			continue
		}
		if g, err := tf.f.GlyphIndex(&sg.bufs[i], r); err == nil && g != 0 {
			return glyphRef{font: i, gid: int(g)}, true
		}
	}
	return glyphRef{}, false
}

// line resolves one line of runes.
func (sg *segmenter) line(rs []rune) []glyphRef {
	var out []glyphRef
	for i := 0; i < len(rs); i++ {
		r, next := rs[i], rune(-1)
		if i+1 < len(rs) {
			next = rs[i+1]
		}
		if isIgnorable(r) {
			continue
		}
		emojiFirst := wantsEmoji(r, next) && sg.emojiHas(r)
		if !emojiFirst {
			if g, ok := sg.textGlyph(r); ok {
				out = append(out, g)
				continue
			}
		}
		if sg.emojiHas(r) {
			n, gs := sg.emojiCluster(rs[i:])
			if len(gs) > 0 || !emojiFirst {
				out = append(out, gs...)
				i += n - 1
				continue
			}
		}
		if g, ok := sg.textGlyph(r); ok && emojiFirst {
			out = append(out, g)
		}
	}
	return out
}

// emojiCluster takes the emoji sequence starting at rs[0] (modifiers,
// selectors, keycap, tags, ZWJ-joined emoji, a regional-indicator pair) and
// returns how many runes it spans and the glyphs to draw: ligated through
// the font's GSUB when possible, otherwise the drawable components.
func (sg *segmenter) emojiCluster(rs []rune) (int, []glyphRef) {
	ef := sg.emoji
	n := 1
loop:
	for n < len(rs) {
		c := rs[n]
		switch {
		case c == vs16 || c == vs15 || c == 0x20E3 || isSkinTone(c) || isTag(c):
			n++
		case c == zwj && n+1 < len(rs) && sg.emojiHas(rs[n+1]) && !unicode.IsSpace(rs[n+1]):
			n += 2
		case n == 1 && isRegionalIndicator(rs[0]) && isRegionalIndicator(c):
			n++
		default:
			break loop
		}
	}
	// Fonts differ on whether ligatures include U+FE0F; try both and keep
	// the variant that needs fewer glyphs.
	var withVS, noVS []int
	for _, c := range rs[:n] {
		if g := ef.cmap.glyph(c); g != 0 {
			withVS = append(withVS, g)
			if c != vs16 && c != vs15 {
				noVS = append(noVS, g)
			}
		}
	}
	a, b := sg.emojiGlyphs(withVS), sg.emojiGlyphs(noVS)
	if len(a) == 0 || (len(b) > 0 && len(b) <= len(a)) {
		a = b
	}
	return n, a
}

// emojiGlyphs ligates seq and keeps the glyphs that have a bitmap.
func (sg *segmenter) emojiGlyphs(seq []int) []glyphRef {
	var out []glyphRef
	for _, g := range applyLigatures(sg.emoji.ligs, seq) {
		if !sg.emoji.invisible[g] && sg.emoji.glyph(g) != nil {
			out = append(out, glyphRef{font: emojiFontRef, gid: g})
		}
	}
	return out
}
