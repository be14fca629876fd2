package builtin

import "math"

// Still drawings: the shapes that the animated stickers reuse (heart, star,
// smiley, cloud) take their animation parameters here.

var (
	white = hex(0xffffff)
	ink   = hex(0x4a2a08) // dark brown for faces
)

func drawHeart(c *canvas, _ float64) { heartAt(c, 1) }

// heartAt draws the red heart scaled by k about the canvas centre.
func heartAt(c *canvas, k float64) {
	cx, cy, s := 128.0, 130.0, 104*k
	c.badge(shape{heart(cx, cy, s)}, 0, 7*k,
		linear{cx, cy - s, cx, cy + s, hex(0xff5d7d), hex(0xd7062b)}, hex(0x8f0a1f))
	hx, hy := cx-0.5*s, cy-0.45*s
	c.fillc(shape{ellipse(hx, hy, 0.22*s, 0.12*s)}.xf(rot(hx, hy, -0.7)), white.alpha(0.65))
}

func drawStar(c *canvas, _ float64) { starAt(c, 0) }

// starAt draws the gold star turned by a radians.
func starAt(c *canvas, a float64) {
	cx, cy := 128.0, 136.0
	s := shape{star(cx, cy, 5, 106, 46, a)}
	c.badge(s, 9, 6, linear{cx, cy - 100, cx, cy + 90, hex(0xfff176), hex(0xffb300)}, hex(0xd9730d))
	hx, hy := cx-24*math.Cos(a)-20*math.Sin(-a), cy-20*math.Cos(a)+24*math.Sin(-a)
	c.fillc(shape{ellipse(hx, hy, 16, 9)}.xf(rot(hx, hy, a-0.6)), white.alpha(0.6))
}

func drawSmiley(c *canvas, _ float64) { smileyAt(c, 1, 0) }

// smileyAt draws the smiley with its eyes open by fraction open (0 shut),
// the whole face tilted by tilt radians.
func smileyAt(c *canvas, open, tilt float64) {
	f := rot(128, 128, tilt)
	c.badge(shape{circle(128, 128, 110)}, 0, 6,
		radial{98, 88, 170, hex(0xffe985), hex(0xffb000)}, hex(0xd68100))
	for _, ex := range []float64{90, 166} {
		if open > 0.2 {
			c.fillc(shape{ellipse(ex, 100, 14, 24*open)}.xf(f), ink)
			c.fillc(shape{circle(ex+4, 100-10*open, 5)}.xf(f), white)
		} else {
			c.fillc(stroke(arc(ex, 98, 16, 7, 0.1, math.Pi-0.1, 16), 9, false).xf(f), ink)
		}
		c.fillc(shape{ellipse(ex*1.45-60, 150, 18, 12)}.xf(f), hex(0xff6f61).alpha(0.45))
	}
	c.fillc(stroke(arc(128, 138, 60, 46, 0.16*math.Pi, 0.84*math.Pi, 40), 13, false).xf(f), ink)
}

func drawSun(c *canvas, _ float64) {
	var rays shape
	for i := range 12 {
		a := float64(i) * math.Pi / 6
		r := 122.0
		if i%2 == 1 {
			r = 108
		}
		p := func(rr, da float64) pt { return pt{128 + rr*math.Cos(a+da), 128 + rr*math.Sin(a+da)} }
		rays = append(rays, poly(p(78, -0.19), p(r, 0), p(78, 0.19)))
	}
	c.badge(rays, 6, 0, radial{128, 128, 124, hex(0xffb627), hex(0xff7b00)}, col{})
	c.badge(shape{circle(128, 128, 78)}, 0, 6,
		radial{106, 102, 110, hex(0xfff3a0), hex(0xffc300)}, hex(0xf08c00))
	c.fillc(shape{ellipse(96, 92, 20, 11)}.xf(rot(96, 92, -0.7)), white.alpha(0.55))
}

// cloudAt is the cloud outline centred on (cx, cy) at scale k (1 = 176 wide).
func cloudAt(cx, cy, k float64) shape {
	s := shape{
		circle(-42, 18, 46), circle(4, -10, 58), circle(48, 24, 40),
		roundRect(-88, 10, 88, 68, 29),
	}
	return s.xf(func(p pt) pt { return pt{cx + p.x*k, cy + p.y*k} })
}

// cloud paints a white cloud with a soft blue underside and outline.
func cloud(c *canvas, cx, cy, k float64) {
	c.badge(cloudAt(cx, cy, k), 0, 6*math.Sqrt(k),
		linear{cx, cy - 40*k, cx, cy + 68*k, white, hex(0xd6e4f5)}, hex(0x7f9fc6))
}

func drawCloud(c *canvas, _ float64) { cloud(c, 128, 126, 1.2) }

func drawThumbsUp(c *canvas, _ float64) {
	skin := linear{80, 40, 200, 220, hex(0xffdd63), hex(0xffc233)}
	line := hex(0xc2750a)
	c.badge(shape{roundRect(36, 114, 90, 226, 10)}, 0, 6,
		linear{0, 114, 0, 226, hex(0x5b8def), hex(0x2f5fc4)}, hex(0x1d3f8a))
	hand := shape{roundRect(84, 108, 184, 226, 26)}
	hand = append(hand, stroke([]pt{{116, 128}, {134, 44}}, 48, false)...)
	fingers := shape{}
	for i := range 4 {
		y := 110 + 28*float64(i)
		fingers = append(fingers, roundRect(140, y, 214-4*float64(i), y+30, 15))
	}
	c.badge(append(hand, fingers...), 0, 6, skin, line)
	for _, f := range fingers {
		c.badge(shape{f}, 0, 4, skin, line)
	}
}
