package builtin

// Symbol stills: badges, arrows, bubbles and the like.

// disc paints a round badge with a top-lit gradient from hi to lo.
func disc(c *canvas, hi, lo, line col) {
	c.badge(shape{circle(128, 128, 108)}, 0, 6, linear{128, 20, 128, 236, hi, lo}, line)
	c.fillc(shape{ellipse(84, 66, 30, 14)}.xf(rot(84, 66, -0.55)), white.alpha(0.35))
}

func drawCheck(c *canvas, _ float64) {
	disc(c, hex(0x4be08b), hex(0x159447), hex(0x0b6b31))
	tick := []pt{{76, 130}, {110, 164}, {182, 90}}
	c.fillc(stroke(tick, 30, false).xf(func(p pt) pt { return pt{p.x + 2, p.y + 5} }), hex(0x0b6b31).alpha(0.5))
	c.fillc(stroke(tick, 28, false), white)
}

func drawCross(c *canvas, _ float64) {
	disc(c, hex(0xff6b6b), hex(0xd0202f), hex(0x8f0a1f))
	for _, l := range [][]pt{{{86, 86}, {170, 170}}, {{170, 86}, {86, 170}}} {
		c.fillc(stroke(l, 30, false).xf(func(p pt) pt { return pt{p.x + 2, p.y + 5} }), hex(0x8f0a1f).alpha(0.5))
	}
	c.fillc(append(stroke([]pt{{86, 86}, {170, 170}}, 28, false),
		stroke([]pt{{170, 86}, {86, 170}}, 28, false)...), white)
}

func drawArrow(c *canvas, _ float64) {
	s := shape{
		poly(pt{34, 104}, pt{140, 104}, pt{140, 152}, pt{34, 152}),
		poly(pt{130, 52}, pt{222, 128}, pt{130, 204}),
	}
	c.badge(s, 8, 6, linear{0, 50, 0, 210, hex(0x62a8ff), hex(0x1d5fd6)}, hex(0x123f91))
	c.fillc(stroke([]pt{{42, 108}, {132, 108}}, 6, false), white.alpha(0.45))
}

func drawSpeechBubble(c *canvas, _ float64) {
	s := shape{
		roundRect(24, 36, 232, 184, 48),
		poly(pt{64, 170}, pt{120, 176}, pt{44, 226}),
	}
	c.badge(s, 4, 6, linear{0, 36, 0, 226, hex(0xb57cf2), hex(0x7b3fd1)}, hex(0x4b1f8f))
	for _, x := range []float64{84, 128, 172} {
		c.fillc(shape{circle(x, 110, 15)}, white)
	}
}

// flameAt is the flame outline with its base at (128, 232), scaled by k
// about the base.
func flameAt(k float64) shape {
	s := shape{curvy(pt{128, 232},
		pt{80, 232}, pt{46, 198}, pt{48, 158},
		pt{50, 124}, pt{64, 104}, pt{72, 74},
		pt{90, 96}, pt{96, 112}, pt{104, 120},
		pt{100, 84}, pt{110, 46}, pt{142, 18},
		pt{144, 56}, pt{166, 84}, pt{172, 108},
		pt{182, 102}, pt{190, 94}, pt{196, 80},
		pt{216, 118}, pt{216, 156}, pt{208, 176},
		pt{198, 210}, pt{168, 232}, pt{128, 232},
	)}
	return s.xf(scl(128, 232, k, k))
}

func drawFire(c *canvas, _ float64) {
	c.badge(flameAt(1), 4, 5, linear{0, 20, 0, 232, hex(0xffa21f), hex(0xf0401a)}, hex(0xb3201a))
	c.badge(flameAt(0.66).xf(scl(128, 0, 1.1, 1)), 4, 0,
		linear{0, 90, 0, 232, hex(0xffd23f), hex(0xff8c00)}, col{})
	c.badge(flameAt(0.36).xf(scl(128, 0, 1.2, 1)), 4, 0,
		linear{0, 150, 0, 232, hex(0xfff7c2), hex(0xffdd4a)}, col{})
}

// sparkle is a four-pointed star with concave sides, tips r from (cx, cy).
func sparkle(cx, cy, r float64) path {
	tips := []pt{{cx, cy - r}, {cx + r, cy}, {cx, cy + r}, {cx - r, cy}}
	var p path
	for i, a := range tips {
		b := tips[(i+1)%4]
		q := pt{cx + (a.x+b.x-2*cx)*0.12, cy + (a.y+b.y-2*cy)*0.12}
		p = append(p, cubic(a, q, q, b, 20)[:20]...)
	}
	return fwd(p)
}

func drawSparkle(c *canvas, _ float64) {
	line := hex(0x0b7d99)
	for _, s := range [][3]float64{{110, 140, 92}, {196, 62, 38}, {198, 192, 26}} {
		c.badge(shape{sparkle(s[0], s[1], s[2])}, 2, 5,
			radial{s[0], s[1], s[2], hex(0x8ff3ff), hex(0x18c4d8)}, line)
	}
}
