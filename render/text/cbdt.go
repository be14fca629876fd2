package text

import (
	"sort"
)

// Colour bitmap tables: CBLC (index) and CBDT (data). See
// https://learn.microsoft.com/typography/opentype/spec/cblc and .../cbdt.
// The index is parsed once per font; glyph records are located on demand.

// maxStrikes and maxIndexSubtables bound the work done on a hostile index.
const (
	maxStrikes        = 256
	maxIndexSubtables = 1 << 16
	maxPNGBytes       = 4 << 20
)

// bitmapStrike is one bitmapSize record of CBLC: all glyph bitmaps of one
// pixel size.
type bitmapStrike struct {
	ppemY    int
	asc      int // hori.ascender, pixels
	desc     int // -hori.descender, pixels
	bitDepth int
	subs     []indexSub // sorted by first glyph
}

// indexSub is one IndexSubTable: the glyph range it covers and where its
// header sits in CBLC.
type indexSub struct {
	first, last int
	hdr         int // offset of the IndexSubHeader in CBLC
	indexFormat int
	imageFormat int
	imageOffset int // offset of this subtable's image data in CBDT
}

// glyphMetrics are a bitmap glyph's metrics in strike pixels.
type glyphMetrics struct {
	w, h, bearingX, bearingY, advance int
}

// parseCBLC reads the strike list of a CBLC (or EBLC) table.
func parseCBLC(b []byte) ([]bitmapStrike, error) {
	r := &rd{b: b}
	major, n := r.u16(0), r.u32(4)
	if r.bad || (major != 2 && major != 3) || n < 1 || n > maxStrikes {
		return nil, errCorrupt
	}
	var strikes []bitmapStrike
	for i := 0; i < n; i++ {
		base := 8 + 48*i
		arr, nsub := r.u32(base), r.u32(base+8)
		s := bitmapStrike{
			asc:      r.i8(base + 16),
			desc:     -r.i8(base + 17),
			ppemY:    r.u8(base + 45),
			bitDepth: r.u8(base + 46),
		}
		if r.bad || nsub < 1 || nsub > maxIndexSubtables || r.sub(arr, 8*nsub) == nil {
			return nil, errCorrupt
		}
		for k := 0; k < nsub; k++ {
			a := arr + 8*k
			is := indexSub{first: r.u16(a), last: r.u16(a + 2), hdr: arr + r.u32(a+4)}
			is.indexFormat, is.imageFormat = r.u16(is.hdr), r.u16(is.hdr+2)
			is.imageOffset = r.u32(is.hdr + 4)
			if r.bad {
				return nil, errCorrupt
			}
			if is.first <= is.last {
				s.subs = append(s.subs, is)
			}
		}
		sort.SliceStable(s.subs, func(i, j int) bool { return s.subs[i].first < s.subs[j].first })
		if s.ppemY > 0 {
			strikes = append(strikes, s)
		}
	}
	if len(strikes) == 0 {
		return nil, errCorrupt
	}
	return strikes, nil
}

// readBigMetrics reads an 8-byte BigGlyphMetrics record (horizontal part).
func readBigMetrics(r *rd, off int) glyphMetrics {
	return glyphMetrics{h: r.u8(off), w: r.u8(off + 1), bearingX: r.i8(off + 2), bearingY: r.i8(off + 3), advance: r.u8(off + 4)}
}

// locate finds glyph gid's record in CBDT: its image format, offset, length
// (-1 when the index does not say) and, for index formats 2 and 5, the
// shared metrics.
func (s *bitmapStrike) locate(cblc []byte, gid int) (is indexSub, off, length int, m *glyphMetrics, ok bool) {
	// subs are sorted by first; valid fonts do not overlap ranges, and on a
	// corrupt one a wrong answer here is merely a missing glyph.
	i := sort.Search(len(s.subs), func(i int) bool { return s.subs[i].last >= gid })
	if i >= len(s.subs) || gid < s.subs[i].first || gid > s.subs[i].last {
		return is, 0, 0, nil, false
	}
	is = s.subs[i]
	r := &rd{b: cblc}
	h, k := is.hdr, gid-is.first
	switch is.indexFormat {
	case 1, 3: // offset arrays (32 or 16 bit), one more entry than glyphs
		var o0, o1 int
		if is.indexFormat == 1 {
			o0, o1 = r.u32(h+8+4*k), r.u32(h+12+4*k)
		} else {
			o0, o1 = r.u16(h+8+2*k), r.u16(h+10+2*k)
		}
		off, length = is.imageOffset+o0, o1-o0
	case 2: // constant image size, shared metrics
		size := r.u32(h + 8)
		bm := readBigMetrics(r, h+12)
		off, length, m = is.imageOffset+k*size, size, &bm
	case 4: // sparse glyph id / offset pairs, numGlyphs+1 entries
		n := r.u32(h + 8)
		if r.bad || r.sub(h+12, 4*(n+1)) == nil {
			return is, 0, 0, nil, false
		}
		j := sort.Search(n, func(j int) bool { return r.u16(h+12+4*j) >= gid })
		if j >= n || r.u16(h+12+4*j) != gid {
			return is, 0, 0, nil, false
		}
		o0, o1 := r.u16(h+14+4*j), r.u16(h+18+4*j)
		off, length = is.imageOffset+o0, o1-o0
	case 5: // sparse glyph ids, constant image size, shared metrics
		size, n := r.u32(h+8), r.u32(h+20)
		bm := readBigMetrics(r, h+12)
		if r.bad || r.sub(h+24, 2*n) == nil {
			return is, 0, 0, nil, false
		}
		j := sort.Search(n, func(j int) bool { return r.u16(h+24+2*j) >= gid })
		if j >= n || r.u16(h+24+2*j) != gid {
			return is, 0, 0, nil, false
		}
		off, length, m = is.imageOffset+j*size, size, &bm
	default:
		return is, 0, 0, nil, false
	}
	if r.bad || length <= 0 || off < 0 {
		return is, 0, 0, nil, false
	}
	return is, off, length, m, true
}

// glyphPNG returns the PNG bytes and metrics of glyph gid, or ok=false when
// the strike has no PNG bitmap for it (missing, empty, non-PNG format, or
// corrupt).
func (s *bitmapStrike) glyphPNG(cblc, cbdt []byte, gid int) (png []byte, m glyphMetrics, ok bool) {
	is, off, length, im, ok := s.locate(cblc, gid)
	if !ok {
		return nil, m, false
	}
	rec := (&rd{b: cbdt}).sub(off, length)
	if rec == nil {
		return nil, m, false
	}
	r := &rd{b: rec}
	var start int
	switch is.imageFormat {
	case 17: // smallGlyphMetrics, uint32 length, PNG
		m = glyphMetrics{h: r.u8(0), w: r.u8(1), bearingX: r.i8(2), bearingY: r.i8(3), advance: r.u8(4)}
		start = 5
	case 18: // bigGlyphMetrics, uint32 length, PNG
		m = readBigMetrics(r, 0)
		start = 8
	case 19: // metrics in CBLC, uint32 length, PNG
		if im == nil {
			return nil, m, false
		}
		m = *im
	default:
		return nil, m, false
	}
	n := r.u32(start)
	if r.bad || n < 8 || n > maxPNGBytes {
		return nil, m, false
	}
	png = r.sub(start+4, n)
	if png == nil {
		return nil, m, false
	}
	return png, m, true
}
