package text

import (
	"slices"
	"sort"
)

// A tiny subset of GSUB: ligature substitution (lookup type 4, also wrapped
// in extension lookups, type 7). That is what colour emoji fonts use to turn
// ZWJ sequences, flags, keycaps and skin-tone sequences into one glyph.
// Contextual lookups are ignored; glyphs they would have changed are simply
// drawn as they are.

// ligature replaces a first glyph followed by comps with glyph.
type ligature struct {
	comps []int
	glyph int
}

// ligLookup maps a first glyph to its ligatures, in font preference order.
type ligLookup map[int][]ligature

// gsubBudget bounds the coverage entries and ligatures read from one font.
const gsubBudget = 1 << 20

// gsubFeatures are the features whose ligature lookups are applied.
var gsubFeatures = map[string]bool{"ccmp": true, "liga": true, "rlig": true, "clig": true}

// parseGSUBLigatures returns the ligature lookups of GSUB table b referenced
// by gsubFeatures, in lookup-list order. Corrupt parts are skipped.
func parseGSUBLigatures(b []byte) []ligLookup {
	r := &rd{b: b}
	if r.u16(0) != 1 {
		return nil
	}
	featList, lookList := r.u16(6), r.u16(8)
	used := map[int]bool{}
	for i, n := 0, r.u16(featList); i < n && !r.bad; i++ {
		rec := featList + 2 + 6*i
		if !gsubFeatures[string(r.sub(rec, 4))] {
			continue
		}
		ft := featList + r.u16(rec+4)
		for k, m := 0, r.u16(ft+2); k < m && !r.bad; k++ {
			used[r.u16(ft+4+2*k)] = true
		}
	}
	idx := make([]int, 0, len(used))
	for i := range used {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	budget := gsubBudget
	var out []ligLookup
	nLook := r.u16(lookList)
	for _, li := range idx {
		if li >= nLook || r.bad {
			continue
		}
		lo := lookList + r.u16(lookList+2+2*li)
		typ, nsub := r.u16(lo), r.u16(lo+4)
		m := ligLookup{}
		for s := 0; s < nsub && !r.bad && budget > 0; s++ {
			so := lo + r.u16(lo+6+2*s)
			if typ == 7 {
				if r.u16(so) != 1 || r.u16(so+2) != 4 {
					continue
				}
				so += r.u32(so + 4)
			} else if typ != 4 {
				continue
			}
			parseLigSubst(&rd{b: b}, so, m, &budget)
		}
		if len(m) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// parseLigSubst reads a LigatureSubstFormat1 subtable at so into m.
func parseLigSubst(r *rd, so int, m ligLookup, budget *int) {
	if r.u16(so) != 1 {
		return
	}
	cov := coverageGlyphs(r, so+r.u16(so+2), budget)
	nsets := min(r.u16(so+4), len(cov))
	for k := 0; k < nsets && !r.bad && *budget > 0; k++ {
		ls := so + r.u16(so+6+2*k)
		for j, n := 0, r.u16(ls); j < n && !r.bad && *budget > 0; j++ {
			lg := ls + r.u16(ls+2+2*j)
			glyph, cc := r.u16(lg), r.u16(lg+2)
			if cc < 1 || cc > 32 {
				continue
			}
			comps := make([]int, cc-1)
			for q := range comps {
				comps[q] = r.u16(lg + 4 + 2*q)
			}
			if r.bad {
				return
			}
			*budget -= cc
			m[cov[k]] = append(m[cov[k]], ligature{comps: comps, glyph: glyph})
		}
	}
}

// coverageGlyphs lists the glyphs of a Coverage table in coverage-index
// order.
func coverageGlyphs(r *rd, off int, budget *int) []int {
	var out []int
	switch r.u16(off) {
	case 1:
		n := min(r.u16(off+2), *budget)
		for i := 0; i < n && !r.bad; i++ {
			out = append(out, r.u16(off+4+2*i))
		}
	case 2:
		for i, n := 0, r.u16(off+2); i < n && !r.bad; i++ {
			start, end := r.u16(off+4+6*i), r.u16(off+6+6*i)
			for g := start; g <= end && len(out) < *budget; g++ {
				out = append(out, g)
			}
		}
	}
	*budget -= len(out)
	if r.bad {
		return nil
	}
	return out
}

// applyLigatures runs every lookup over seq, left to right, replacing the
// first matching ligature at each position.
func applyLigatures(lookups []ligLookup, seq []int) []int {
	for _, lk := range lookups {
		out := make([]int, 0, len(seq))
		for i := 0; i < len(seq); {
			matched := false
			for _, lig := range lk[seq[i]] {
				if len(lig.comps) <= len(seq)-i-1 && slices.Equal(lig.comps, seq[i+1:i+1+len(lig.comps)]) {
					out = append(out, lig.glyph)
					i += 1 + len(lig.comps)
					matched = true
					break
				}
			}
			if !matched {
				out = append(out, seq[i])
				i++
			}
		}
		seq = out
	}
	return seq
}
