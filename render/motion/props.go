package motion

import (
	"math"

	"github.com/stickerd/stickerd/render/spec"
)

// Props are a sticker's animated properties over its local time (seconds
// from its start). X and Y place the centre as fractions of the frame,
// Width is a fraction of the output width, Rotation is degrees clockwise,
// Opacity is 0..1.
type Props struct {
	X, Y, Width, Rotation, Opacity Track
}

// Animated reports whether any property changes over time.
func (p Props) Animated() bool {
	return !(p.X.IsConstant() && p.Y.IsConstant() && p.Width.IsConstant() &&
		p.Rotation.IsConstant() && p.Opacity.IsConstant())
}

// Build expands a sticker (defaults applied) into tracks. naturalWidth is
// the width the sticker has when the spec gives none, as a fraction of
// the output width; duration is how long the sticker is visible. Keyframes
// given by the user win over the preset for the properties they set.
func Build(st spec.Sticker, naturalWidth, duration float64) Props {
	base := struct{ x, y, w, r, o float64 }{
		spec.Value(st.X, 0.5), spec.Value(st.Y, 0.5), spec.Value(st.Width, naturalWidth),
		spec.Value(st.Rotation, 0), spec.Value(st.Opacity, 1),
	}
	p := Preset(st.Animation, duration, base.x, base.y, base.w, base.r, base.o)
	user := fromKeyframes(st.Keyframes, base.x, base.y, base.w, base.r, base.o)
	pick := func(u, pre Track, v float64) Track {
		switch {
		case len(u) > 0:
			return u
		case len(pre) > 0:
			return pre
		}
		return Constant(v)
	}
	return Props{
		X:        pick(user.X, p.X, base.x),
		Y:        pick(user.Y, p.Y, base.y),
		Width:    pick(user.Width, p.Width, base.w),
		Rotation: pick(user.Rotation, p.Rotation, base.r),
		Opacity:  pick(user.Opacity, p.Opacity, base.o),
	}
}

// fromKeyframes gives each property the keys that set it. A property that
// some keyframe sets starts from the sticker's base value at t=0 unless a
// keyframe sets it there, so "x moves to 0.9 by t=2" animates from x.
func fromKeyframes(kfs []spec.Keyframe, x, y, w, r, o float64) Props {
	var p Props
	add := func(tr *Track, base float64, t float64, v *float64, e string) {
		if v == nil {
			return
		}
		if len(*tr) == 0 && t > 0 {
			*tr = append(*tr, Key{T: 0, V: base})
		}
		*tr = append(*tr, Key{T: t, V: *v, Easing: Easing(e)})
	}
	for _, k := range kfs {
		add(&p.X, x, k.T, k.X, k.Easing)
		add(&p.Y, y, k.T, k.Y, k.Easing)
		add(&p.Width, w, k.T, k.Width, k.Easing)
		add(&p.Rotation, r, k.T, k.Rotation, k.Easing)
		add(&p.Opacity, o, k.T, k.Opacity, k.Easing)
	}
	return p
}

// Preset expands an animation preset for a sticker visible for d seconds
// whose resting values are x, y, w, r, o. Unknown or "none" yields no tracks.
func Preset(name string, d, x, y, w, r, o float64) Props {
	in := math.Min(0.5, d/2) // entrance/exit length
	switch name {
	case "fade-in":
		return Props{Opacity: Track{{0, 0, Linear}, {in, o, EaseOut}}}
	case "fade-out":
		return Props{Opacity: Track{{d - in, o, Linear}, {d, 0, EaseIn}}}
	case "pop":
		a, b := math.Min(0.2, d/3), math.Min(0.35, d/2)
		return Props{
			Width:   Track{{0, w * 0.05, Linear}, {a, w * 1.2, EaseOut}, {b, w, EaseInOut}},
			Opacity: Track{{0, 0, Linear}, {a / 2, o, Linear}},
		}
	case "bounce":
		const period, height = 0.6, 0.06
		var tr Track
		for t := 0.0; t < d && len(tr) < 400; t += period {
			tr = append(tr, Key{t, y, EaseIn}, Key{t + period/2, y - height, EaseOut})
		}
		tr = append(tr, Key{tr[len(tr)-1].T + period/2, y, EaseIn})
		return Props{Y: tr}
	case "spin":
		// One turn every two seconds, clockwise.
		return Props{Rotation: Track{{0, r, Linear}, {d, r + 180*d, Linear}}}
	case "slide-in-left":
		return Props{X: Track{{0, -w/2 - 0.01, Linear}, {in, x, EaseOut}}}
	case "slide-in-right":
		return Props{X: Track{{0, 1 + w/2 + 0.01, Linear}, {in, x, EaseOut}}}
	case "slide-in-top":
		return Props{Y: Track{{0, -0.5, Linear}, {in, y, EaseOut}}}
	case "slide-in-bottom":
		return Props{Y: Track{{0, 1.5, Linear}, {in, y, EaseOut}}}
	}
	return Props{}
}
