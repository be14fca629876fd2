package builtin

import "math"

// Animated drawings. Each takes the loop phase t in [0, 1) and must join up
// seamlessly at t = 1.

const tau = 2 * math.Pi

// bump is a smooth pulse of width w centred on c.
func bump(t, c, w float64) float64 { d := (t - c) / w; return math.Exp(-d * d) }

func drawBeatingHeart(c *canvas, t float64) {
	heartAt(c, 0.8+0.02*math.Cos(tau*t)+0.17*bump(t, 0.14, 0.07)+0.11*bump(t, 0.38, 0.07))
}

func drawSpinningStar(c *canvas, t float64) {
	starAt(c, t*tau/5)
	for i, p := range [][2]float64{{34, 40}, {222, 60}, {214, 214}} {
		r := 12 + 9*math.Sin(tau*(t+float64(i)/3))
		c.badge(shape{sparkle(p[0], p[1], r)}, 1, 0, solid(hex(0xffc933)), col{})
	}
}

// lcg is a tiny deterministic pseudo-random generator for layouts.
type lcg uint32

func (r *lcg) next() float64 {
	*r = *r*1664525 + 1013904223
	return float64(*r>>8) / (1 << 24)
}

var confettiColours = []col{
	hex(0xff4d6d), hex(0xffc93c), hex(0x2ec4b6), hex(0x4d7cff), hex(0x9b5de5), hex(0xff8c42),
}

func drawConfetti(c *canvas, t float64) {
	const n, span = 40, 300.0
	r := lcg(7)
	pieces := make([]shape, len(confettiColours))
	for i := range n {
		x0, y0, ph := 14+228*r.next(), span*r.next(), r.next()
		speed := 1 + float64(int(r.next()*2)) // whole laps per loop
		spin := float64(int(r.next()*3)) - 1  // whole turns per loop
		flip := math.Cos(tau * (2*t + ph))    // 3-D flutter
		y := math.Mod(y0+speed*span*t, span) - 22
		x := x0 + 10*math.Sin(tau*(t+ph))
		var s shape
		if i%3 == 0 {
			s = shape{ellipse(x, y, 8, 8*math.Max(math.Abs(flip), 0.3))}
		} else {
			s = shape{roundRect(x-13, y-7, x+13, y+7, 3)}.xf(scl(x, y, 1, math.Max(math.Abs(flip), 0.25)))
		}
		s = s.xf(rot(x, y, tau*(spin*t+ph)))
		k := i % len(confettiColours)
		pieces[k] = append(pieces[k], s...)
	}
	for k, s := range pieces {
		c.fillc(s, confettiColours[k])
	}
}

func drawBouncingBall(c *canvas, t float64) {
	const ground, r, lift = 224.0, 50.0, 112.0
	u := math.Mod(t+0.5, 1) // start at the top of the bounce
	h := 4 * u * (1 - u)    // 0 on the ground, 1 at the top
	q := math.Max(0, 1-h/0.12)
	sx, sy := 1+0.2*q-0.06*(1-q)*(1-h), 1-0.2*q+0.06*(1-q)*(1-h)
	cx, cy := 128.0, ground-r*sy-lift*h
	c.fillc(shape{ellipse(128, ground+4, 50*(1-0.45*h), 9*(1-0.45*h))}, hex(0xb9b4c9))
	f := scl(cx, cy, sx, sy)
	c.badge(shape{circle(cx, cy, r)}.xf(f), 0, 5,
		radial{cx - 16, cy - 18, 70, hex(0xfff08a), hex(0xffb800)}, hex(0xb86b00))
	th := math.Asin(0.3)
	band := path(append(arc(cx, cy, r, r, -th, th, 12), arc(cx, cy, r, r, math.Pi-th, math.Pi+th, 12)...))
	c.fillc(shape{fwd(band)}.xf(f), hex(0x2f6fd6))
	c.badge(shape{star(cx, cy-2, 5, 19, 8, 0)}.xf(f), 1.5, 0, solid(hex(0xe8262e)), col{})
	c.fillc(shape{ellipse(cx-18, cy-26, 12, 7)}.xf(rot(cx-18, cy-26, -0.6)).xf(f), white.alpha(0.7))
}

func drawBlinkingSmiley(c *canvas, t float64) {
	open := 1.0
	switch int(math.Round(t * 16)) {
	case 10, 13:
		open = 0.45
	case 11, 12:
		open = 0
	}
	smileyAt(c, open, 0.08*math.Sin(tau*t))
}

func drawPulsingRing(c *canvas, t float64) {
	for k := range 3 {
		u := math.Mod(t+float64(k)/3, 1)
		rad, w := 40+78*u, 4+16*(1-u)
		c.fillc(ring(128, 128, rad-w/2, rad+w/2), mix(hex(0xff2e88), hex(0xffb0d2), u))
	}
	c.badge(shape{circle(128, 128, 30+4*math.Sin(tau*t))}, 0, 4,
		radial{120, 120, 36, hex(0xff7ab6), hex(0xf0147a)}, hex(0xa10d56))
}

var rainbow = []col{
	hex(0xff3b3b), hex(0xff9a1f), hex(0xffe03a), hex(0x3ccf4e), hex(0x2e8bff), hex(0x8a4dff),
}

func drawRainbowWave(c *canvas, t float64) {
	const x0, x1, band = 36.0, 220.0, 17.0
	yc := func(x float64) float64 {
		u := (x - x0) / (x1 - x0)
		return 128 + 22*(0.3+0.7*math.Sin(math.Pi*u))*math.Sin(tau*(u-t))
	}
	top := -band * float64(len(rainbow)) / 2
	for j, k := range rainbow {
		a, b := top+band*float64(j), top+band*float64(j+1)
		if j+1 < len(rainbow) {
			b += 1.5 // overlap the next band so no seam shows
		}
		var up, down []pt
		for x := x0; x <= x1; x += 4 {
			up = append(up, pt{x, yc(x) + a})
			down = append(down, pt{x, yc(x) + b})
		}
		for i := len(down) - 1; i >= 0; i-- {
			up = append(up, down[i])
		}
		c.fillc(shape{fwd(up)}, k)
	}
	cloud(c, 44, 136, 0.42)
	cloud(c, 212, 136, 0.42)
}
