package text

import (
	"encoding/binary"
	"errors"
	"sort"
)

// This file holds a minimal, bounds-checked reader for the raw SFNT tables
// that golang.org/x/image/font/sfnt does not expose (it refuses bitmap-only
// fonts such as Noto Color Emoji). No function here panics on bad input: every
// read goes through rd, which records an out-of-range access instead.

var errCorrupt = errors.New("text: corrupt font table")

// rd reads big-endian integers from b; any out-of-range read sets bad and
// yields zero, so callers can do several reads and check bad once.
type rd struct {
	b   []byte
	bad bool
}

func (r *rd) ok(off, n int) bool {
	if off < 0 || n < 0 || off > len(r.b)-n {
		r.bad = true
		return false
	}
	return true
}

func (r *rd) u8(off int) int {
	if !r.ok(off, 1) {
		return 0
	}
	return int(r.b[off])
}

func (r *rd) i8(off int) int {
	if !r.ok(off, 1) {
		return 0
	}
	return int(int8(r.b[off]))
}

func (r *rd) u16(off int) int {
	if !r.ok(off, 2) {
		return 0
	}
	return int(binary.BigEndian.Uint16(r.b[off:]))
}

func (r *rd) i16(off int) int {
	if !r.ok(off, 2) {
		return 0
	}
	return int(int16(binary.BigEndian.Uint16(r.b[off:])))
}

// u32 returns the value as int; on 32-bit platforms huge values become
// negative and are then rejected by ok like any other bad offset.
func (r *rd) u32(off int) int {
	if !r.ok(off, 4) {
		return 0
	}
	return int(binary.BigEndian.Uint32(r.b[off:]))
}

// sub returns b[off:off+n] or nil (and sets bad) when out of range.
func (r *rd) sub(off, n int) []byte {
	if !r.ok(off, n) {
		return nil
	}
	return r.b[off : off+n : off+n]
}

// sfntTables maps a table tag to its bytes.
type sfntTables map[string][]byte

// parseTableDir reads the table directory of an SFNT file (or of the first
// font of a TrueType collection).
func parseTableDir(data []byte) (sfntTables, error) {
	r := &rd{b: data}
	base := 0
	if string(r.sub(0, 4)) == "ttcf" {
		if r.u32(8) < 1 {
			return nil, errCorrupt
		}
		base = r.u32(12)
	}
	n := r.u16(base + 4)
	if r.bad || n == 0 || n > 512 {
		return nil, errCorrupt
	}
	tables := sfntTables{}
	for i := 0; i < n; i++ {
		rec := base + 12 + 16*i
		tag := string(r.sub(rec, 4))
		off, length := r.u32(rec+8), r.u32(rec+12)
		b := r.sub(off, length)
		if r.bad {
			return nil, errCorrupt
		}
		tables[tag] = b
	}
	return tables, nil
}

// cmapTable maps runes to glyph ids using one format 12 or format 4 subtable.
type cmapTable struct {
	r      rd
	format int
	n      int // groups (format 12) or segments (format 4)
}

// parseCmap picks the best Unicode subtable: full-repertoire format 12 first,
// then BMP format 4.
func parseCmap(b []byte) (*cmapTable, error) {
	r := &rd{b: b}
	n := r.u16(2)
	best, bestScore := -1, 0
	for i := 0; i < n && !r.bad; i++ {
		pid, eid, off := r.u16(4+8*i), r.u16(6+8*i), r.u32(8+8*i)
		format, score := r.u16(off), 0
		switch {
		case format == 12 && (pid == 0 || (pid == 3 && eid == 10)):
			score = 3
		case format == 4 && (pid == 0 || (pid == 3 && eid == 1)):
			score = 2
		case format == 12 || format == 4:
			score = 1
		}
		if !r.bad && score > bestScore {
			best, bestScore = off, score
		}
	}
	if r.bad || best < 0 {
		return nil, errCorrupt
	}
	c := &cmapTable{format: r.u16(best)}
	if c.format == 12 {
		length := r.u32(best + 4)
		c.r = rd{b: r.sub(best, length)}
		c.n = c.r.u32(12)
		c.r.sub(16, 12*c.n)
	} else {
		length := r.u16(best + 2)
		c.r = rd{b: r.sub(best, length)}
		c.n = c.r.u16(6) / 2
		c.r.sub(14, 8*c.n+2)
	}
	if r.bad || c.r.bad {
		return nil, errCorrupt
	}
	return c, nil
}

// glyph returns the glyph id for ru, or 0 when the font has none.
func (c *cmapTable) glyph(ru rune) int {
	if c == nil || ru < 0 {
		return 0
	}
	r := &rd{b: c.r.b}
	cp := int(ru)
	if c.format == 12 {
		i := sort.Search(c.n, func(i int) bool { return r.u32(16+12*i+4) >= cp })
		if i >= c.n {
			return 0
		}
		start, gid := r.u32(16+12*i), r.u32(16+12*i+8)
		if cp < start || r.bad {
			return 0
		}
		if g := gid + cp - start; g > 0 && g <= 0xFFFF {
			return g
		}
		return 0
	}
	if cp > 0xFFFF {
		return 0
	}
	segX2 := 2 * c.n
	i := sort.Search(c.n, func(i int) bool { return r.u16(14+2*i) >= cp })
	if i >= c.n {
		return 0
	}
	start := r.u16(16 + segX2 + 2*i)
	delta := r.u16(16 + 2*segX2 + 2*i)
	rangePos := 16 + 3*segX2 + 2*i
	rangeOff := r.u16(rangePos)
	if cp < start || r.bad {
		return 0
	}
	if rangeOff == 0 {
		return (cp + delta) & 0xFFFF
	}
	g := r.u16(rangePos + rangeOff + 2*(cp-start))
	if g == 0 || r.bad {
		return 0
	}
	return (g + delta) & 0xFFFF
}
