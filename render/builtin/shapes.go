package builtin

import "math"

// pt is a point in canvas coordinates (x right, y down).
type pt struct{ x, y float64 }

// path is a closed polygon. A shape is a set of paths filled together: the
// rasteriser takes the absolute winding number, so paths running the same way
// unite, and a path running the other way (see rev) punches a hole.
type path []pt
type shape []path

// area returns the signed area of p (positive for "forward" paths).
func (p path) area() float64 {
	var a float64
	for i, q := range p {
		r := p[(i+1)%len(p)]
		a += q.x*r.y - r.x*q.y
	}
	return a / 2
}

// fwd returns p running forward, so that it unites with other forward paths.
func fwd(p path) path {
	if p.area() < 0 {
		return rev(p)
	}
	return p
}

// rev returns p running the other way round.
func rev(p path) path {
	q := make(path, len(p))
	for i, v := range p {
		q[len(p)-1-i] = v
	}
	return q
}

// segs picks how many segments a curve of radius r needs to look smooth.
func segs(r float64) int {
	return min(max(int(r*0.9), 16), 180)
}

// arc returns n+1 points on an elliptical arc from angle a0 to a1 (radians,
// clockwise on screen because y grows downwards).
func arc(cx, cy, rx, ry, a0, a1 float64, n int) []pt {
	pts := make([]pt, 0, n+1)
	for i := 0; i <= n; i++ {
		a := a0 + (a1-a0)*float64(i)/float64(n)
		pts = append(pts, pt{cx + rx*math.Cos(a), cy + ry*math.Sin(a)})
	}
	return pts
}

func ellipse(cx, cy, rx, ry float64) path {
	n := segs(max(rx, ry))
	return fwd(arc(cx, cy, rx, ry, 0, 2*math.Pi, n)[:n])
}

func circle(cx, cy, r float64) path { return ellipse(cx, cy, r, r) }

// ring is an annulus between radii r0 < r1.
func ring(cx, cy, r0, r1 float64) shape {
	return shape{circle(cx, cy, r1), rev(circle(cx, cy, r0))}
}

func poly(pts ...pt) path { return fwd(path(pts)) }

// roundRect is the rectangle (x0,y0)-(x1,y1) with corner radius r.
func roundRect(x0, y0, x1, y1, r float64) path {
	n := segs(r) / 4
	var p path
	p = append(p, arc(x1-r, y0+r, r, r, -math.Pi/2, 0, n)...)
	p = append(p, arc(x1-r, y1-r, r, r, 0, math.Pi/2, n)...)
	p = append(p, arc(x0+r, y1-r, r, r, math.Pi/2, math.Pi, n)...)
	p = append(p, arc(x0+r, y0+r, r, r, math.Pi, 3*math.Pi/2, n)...)
	return fwd(p)
}

// star is an n-pointed star with outer and inner radii, first tip at angle rot
// (0 points straight up).
func star(cx, cy float64, n int, ro, ri, rot float64) path {
	var p path
	for i := 0; i < 2*n; i++ {
		r := ro
		if i%2 == 1 {
			r = ri
		}
		a := rot + math.Pi*float64(i)/float64(n) - math.Pi/2
		p = append(p, pt{cx + r*math.Cos(a), cy + r*math.Sin(a)})
	}
	return fwd(p)
}

// cubic returns n+1 points on the cubic Bézier curve p0 p1 p2 p3.
func cubic(p0, p1, p2, p3 pt, n int) []pt {
	pts := make([]pt, 0, n+1)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		u := 1 - t
		a, b, c, d := u*u*u, 3*u*u*t, 3*u*t*t, t*t*t
		pts = append(pts, pt{
			a*p0.x + b*p1.x + c*p2.x + d*p3.x,
			a*p0.y + b*p1.y + c*p2.y + d*p3.y,
		})
	}
	return pts
}

// curvy joins a chain of cubic segments (start, then 3 points per segment)
// into one closed path.
func curvy(start pt, ctl ...pt) path {
	p := path{start}
	for i := 0; i+2 < len(ctl); i += 3 {
		p = append(p, cubic(p[len(p)-1], ctl[i], ctl[i+1], ctl[i+2], 24)[1:]...)
	}
	return fwd(p)
}

// heart is the classic parametric heart curve, about 2*s wide, centred on
// (cx, cy).
func heart(cx, cy, s float64) path {
	const n = 160
	p := make(path, 0, n)
	for i := 0; i < n; i++ {
		t := 2 * math.Pi * float64(i) / n
		sn := math.Sin(t)
		x := 16 * sn * sn * sn
		y := 13*math.Cos(t) - 5*math.Cos(2*t) - 2*math.Cos(3*t) - math.Cos(4*t)
		p = append(p, pt{cx + x*s/16, cy - (y+2.5)*s/16})
	}
	return fwd(p)
}

// stroke is the outline of width w along pts, with round joins and caps.
func stroke(pts []pt, w float64, closed bool) shape {
	r := w / 2
	var s shape
	n := len(pts)
	for i, a := range pts {
		s = append(s, circle(a.x, a.y, r))
		if i+1 == n && !closed {
			break
		}
		b := pts[(i+1)%n]
		dx, dy := b.x-a.x, b.y-a.y
		l := math.Hypot(dx, dy)
		if l == 0 {
			continue
		}
		nx, ny := -dy/l*r, dx/l*r
		s = append(s, poly(pt{a.x + nx, a.y + ny}, pt{b.x + nx, b.y + ny},
			pt{b.x - nx, b.y - ny}, pt{a.x - nx, a.y - ny}))
	}
	return s
}

// xf maps every point of s through f.
func (s shape) xf(f func(pt) pt) shape {
	out := make(shape, len(s))
	for i, p := range s {
		q := make(path, len(p))
		for j, v := range p {
			q[j] = f(v)
		}
		out[i] = q
	}
	return out
}

// rot rotates by a radians (clockwise on screen) about (cx, cy).
func rot(cx, cy, a float64) func(pt) pt {
	sn, cs := math.Sincos(a)
	return func(p pt) pt {
		dx, dy := p.x-cx, p.y-cy
		return pt{cx + dx*cs - dy*sn, cy + dx*sn + dy*cs}
	}
}

// scl scales by (sx, sy) about (cx, cy).
func scl(cx, cy, sx, sy float64) func(pt) pt {
	return func(p pt) pt { return pt{cx + (p.x-cx)*sx, cy + (p.y-cy)*sy} }
}
