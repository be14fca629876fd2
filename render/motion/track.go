package motion

import (
	"math"
	"strconv"
	"strings"
)

// Easing shapes the segment that ends at a key.
type Easing string

// The easings of docs/api.md.
const (
	Linear    Easing = "linear"
	EaseIn    Easing = "ease-in"
	EaseOut   Easing = "ease-out"
	EaseInOut Easing = "ease-in-out"
	Step      Easing = "step"
)

// Ease maps segment progress u in [0,1] through e. The curves are the
// quadratic ones (ease-in u², ease-out 1-(1-u)², ease-in-out their
// piecewise join); step holds the previous value until the segment ends.
func Ease(e Easing, u float64) float64 {
	u = math.Max(0, math.Min(1, u))
	switch e {
	case EaseIn:
		return u * u
	case EaseOut:
		return 1 - (1-u)*(1-u)
	case EaseInOut:
		if u < 0.5 {
			return 2 * u * u
		}
		return 1 - 2*(1-u)*(1-u)
	case Step:
		if u >= 1 {
			return 1
		}
		return 0
	}
	return u
}

// Key is one value of a property at time T (seconds, sticker-local).
type Key struct {
	T      float64
	V      float64
	Easing Easing // shapes the segment from the previous key to this one
}

// Track is a property's keys sorted by time. An empty track has no value;
// a one-key track is constant. Values are held before the first key and
// after the last.
type Track []Key

// Constant is a one-key track.
func Constant(v float64) Track { return Track{{T: 0, V: v}} }

// IsConstant reports whether the track never changes.
func (tr Track) IsConstant() bool {
	for _, k := range tr {
		if k.V != tr[0].V {
			return false
		}
	}
	return true
}

// At evaluates the track at local time t.
func (tr Track) At(t float64) float64 {
	if len(tr) == 0 {
		return 0
	}
	if t < tr[0].T {
		return tr[0].V
	}
	for i := 1; i < len(tr); i++ {
		a, b := tr[i-1], tr[i]
		if t < b.T {
			return a.V + (b.V-a.V)*Ease(b.Easing, (t-a.T)/(b.T-a.T))
		}
	}
	return tr[len(tr)-1].V
}

// Max returns the largest value the track takes (easings stay within their
// end points, so keys bound the curve).
func (tr Track) Max() float64 {
	m := math.Inf(-1)
	for _, k := range tr {
		m = math.Max(m, k.V)
	}
	return m
}

// Map returns a track with f applied to every value (f must be affine for
// the curve between keys to map exactly).
func (tr Track) Map(f func(float64) float64) Track {
	out := make(Track, len(tr))
	for i, k := range tr {
		out[i] = Key{T: k.T, V: f(k.V), Easing: k.Easing}
	}
	return out
}

// Expr writes the track as an ffmpeg expression of the time expression tv
// (for example "(t-1.5)"). It uses only numbers, arithmetic, if/lt/gte and
// the local variable slot 0: nothing in it comes from user text.
func (tr Track) Expr(tv string) string {
	if len(tr) == 0 {
		return "0"
	}
	if tr.IsConstant() {
		return paren(tr[0].V)
	}
	var b strings.Builder
	// if(lt(T,t0),v0,if(lt(T,t1),seg1,...,vn))
	b.WriteString("if(lt(" + tv + "," + Num(tr[0].T) + ")," + paren(tr[0].V) + ",")
	closing := 1
	for i := 1; i < len(tr); i++ {
		a, k := tr[i-1], tr[i]
		b.WriteString("if(lt(" + tv + "," + Num(k.T) + "),")
		u := "(" + tv + "-" + Num(a.T) + ")/" + Num(k.T-a.T)
		b.WriteString(paren(a.V) + "+" + paren(k.V-a.V) + "*" + easeExpr(k.Easing, u) + ",")
		closing++
	}
	b.WriteString(paren(tr[len(tr)-1].V))
	b.WriteString(strings.Repeat(")", closing))
	return b.String()
}

// easeExpr is Ease as an ffmpeg expression of u (u is within [0,1) inside
// a segment, so no clamping is needed).
func easeExpr(e Easing, u string) string {
	switch e {
	case EaseIn:
		return "pow(" + u + ",2)"
	case EaseOut:
		return "(1-pow(1-" + u + ",2))"
	case EaseInOut:
		return "if(lt(" + u + ",0.5),2*pow(" + u + ",2),1-2*pow(1-" + u + ",2))"
	case Step:
		return "0"
	}
	return "(" + u + ")"
}

// Num formats a number for an ffmpeg expression: plain decimal, never
// exponent notation, never NaN.
func Num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	if v == 0 {
		return "0"
	}
	s := strconv.FormatFloat(v, 'f', 6, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// paren is Num, parenthesised when negative so that "a+-b" never appears.
func paren(v float64) string {
	s := Num(v)
	if strings.HasPrefix(s, "-") {
		return "(" + s + ")"
	}
	return s
}
