package motion

import (
	"math"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/render/spec"
)

func TestEase_Midpoints(t *testing.T) {
	tests := []struct {
		e    Easing
		u    float64
		want float64
	}{
		{Linear, 0.5, 0.5}, {EaseIn, 0.5, 0.25}, {EaseOut, 0.5, 0.75},
		{EaseInOut, 0.25, 0.125}, {EaseInOut, 0.5, 0.5}, {EaseInOut, 0.75, 0.875},
		{Step, 0.5, 0}, {Step, 1, 1}, {Linear, -1, 0}, {EaseIn, 2, 1},
	}
	for _, tt := range tests {
		t.Run(string(tt.e), func(t *testing.T) {
			if got := Ease(tt.e, tt.u); math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("Ease(%s, %g) = %g, want %g", tt.e, tt.u, got, tt.want)
			}
		})
	}
}

func TestTrack_At(t *testing.T) {
	tr := Track{{0, 0, Linear}, {2, 1, Linear}, {4, 0, EaseIn}}
	tests := []struct{ t, want float64 }{
		{-1, 0}, {0, 0}, {1, 0.5}, {2, 1}, {3, 0.75}, {4, 0}, {9, 0},
	}
	for _, tt := range tests {
		if got := tr.At(tt.t); math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("At(%g) = %g, want %g", tt.t, got, tt.want)
		}
	}
}

func TestTrack_ExprIsArithmeticOnly(t *testing.T) {
	tr := Track{{0, -0.5, Linear}, {1, 1e-9, EaseInOut}, {2, 3, Step}}
	e := tr.Expr("(t-1.5)")
	for _, bad := range []string{"e-", "+-", "NaN", "Inf", ":", "'", ";", "[", "="} {
		if strings.Contains(e, bad) {
			t.Fatalf("expression %q contains %q", e, bad)
		}
	}
	if strings.Count(e, "(") != strings.Count(e, ")") {
		t.Fatalf("unbalanced: %s", e)
	}
	if got := Constant(0.25).Expr("t"); got != "0.25" {
		t.Fatalf("constant expr = %q", got)
	}
}

func TestBuild_KeyframesStartFromBase(t *testing.T) {
	st := spec.Sticker{X: spec.Float(0.2), Keyframes: []spec.Keyframe{{T: 2, X: spec.Float(0.8), Easing: "linear"}}}
	p := Build(st, 0.1, 5)
	if got := p.X.At(1); math.Abs(got-0.5) > 1e-9 {
		t.Fatalf("x at 1s = %g, want 0.5 (from 0.2 at t=0 to 0.8 at t=2)", got)
	}
	if p.Width.At(0) != 0.1 || p.Opacity.At(3) != 1 || !p.Animated() {
		t.Fatalf("base values wrong: %+v", p)
	}
}

func TestBuild_UserKeyframesWinOverPreset(t *testing.T) {
	st := spec.Sticker{Animation: "fade-in", Opacity: spec.Float(1),
		Keyframes: []spec.Keyframe{{T: 0, Opacity: spec.Float(0.3)}}}
	if got := Build(st, 0.1, 5).Opacity.At(0); got != 0.3 {
		t.Fatalf("opacity at 0 = %g, want the user's 0.3", got)
	}
}

func TestPreset(t *testing.T) {
	const d = 4.0
	tests := []struct {
		name  string
		check func(Props) bool
	}{
		{"fade-in", func(p Props) bool { return p.Opacity.At(0) == 0 && p.Opacity.At(1) == 1 }},
		{"fade-out", func(p Props) bool { return p.Opacity.At(0) == 1 && p.Opacity.At(d) == 0 }},
		{"pop", func(p Props) bool { return p.Width.At(0) < 0.05 && p.Width.At(0.2) > 0.2 && p.Width.At(1) == 0.2 }},
		{"bounce", func(p Props) bool { return p.Y.At(0) == 0.5 && p.Y.At(0.3) < 0.46 }},
		{"spin", func(p Props) bool { return p.Rotation.At(2) == 360 }},
		{"slide-in-left", func(p Props) bool { return p.X.At(0) < 0 && p.X.At(1) == 0.5 }},
		{"slide-in-right", func(p Props) bool { return p.X.At(0) > 1 && p.X.At(1) == 0.5 }},
		{"slide-in-top", func(p Props) bool { return p.Y.At(0) < 0 && p.Y.At(1) == 0.5 }},
		{"slide-in-bottom", func(p Props) bool { return p.Y.At(0) > 1 && p.Y.At(1) == 0.5 }},
		{"none", func(p Props) bool { return len(p.X)+len(p.Y)+len(p.Width)+len(p.Rotation)+len(p.Opacity) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := Preset(tt.name, d, 0.5, 0.5, 0.2, 0, 1); !tt.check(p) {
				t.Fatalf("%s expanded wrong: %+v", tt.name, p)
			}
		})
	}
	for _, name := range spec.Animations {
		if name == "none" {
			continue
		}
		if p := Preset(name, d, 0.5, 0.5, 0.2, 0, 1); len(p.X)+len(p.Y)+len(p.Width)+len(p.Rotation)+len(p.Opacity) == 0 {
			t.Errorf("preset %s of the contract is not handled", name)
		}
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 1: "1", -0.5: "-0.5", 1e-9: "0", 1.23456789: "1.234568", 1e20: "100000000000000000000", math.NaN(): "0"} {
		if got := Num(in); got != want {
			t.Errorf("Num(%g) = %q, want %q", in, got, want)
		}
	}
}
