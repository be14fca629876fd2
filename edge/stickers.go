package edge

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/vpx"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
)

// liveDuration is how long presets think a live sticker lasts: it has no
// end, so "fade-out" holds full opacity; "spin" and "bounce" repeat.
const liveDuration = 3600.0

var stickerIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// layer is one sticker of a session. The control goroutine replaces
// layers whole (copy on write); the fields below the line belong to the
// media goroutine.
type layer struct {
	id    string
	st    spec.Sticker
	src   *source
	added time.Time
	cache *rasterCache

	propsFor [3]int // frame width, frame height, source width the props were built for
	props    motion.Props
}

func checkID(id string) error {
	if !stickerIDRe.MatchString(id) {
		return fieldErr("id", "is required: 1 to 64 letters, digits or _ . : -")
	}
	return nil
}

func onlyFields(fields map[string]json.RawMessage, allowed ...string) error {
	for k := range fields {
		if !slices.Contains(allowed, k) {
			return fieldErr(k, "unknown field for this op")
		}
	}
	return nil
}

// addSticker adds (or replaces) a sticker once its source has loaded.
func (s *session) addSticker(ctx context.Context, id string, fields map[string]json.RawMessage) error {
	if err := checkID(id); err != nil {
		return err
	}
	if err := onlyFields(fields, "id", "sticker"); err != nil {
		return err
	}
	st, err := parseSticker(fields["sticker"])
	if err != nil {
		return err
	}
	cur := s.current()
	if len(cur) >= s.cfg.MaxStickers && s.find(cur, id) < 0 {
		return fieldErr("id", "this session already has the most stickers allowed")
	}
	src, err := s.edge.loadSource(ctx, s.tenant, st)
	if err != nil {
		return err
	}
	l := &layer{id: id, st: st, src: src, added: time.Now(), cache: &rasterCache{}}
	s.replace(id, l)
	return nil
}

// updateSticker changes placement (and, for text, the text's look).
func (s *session) updateSticker(id string, fields map[string]json.RawMessage) error {
	if err := checkID(id); err != nil {
		return err
	}
	delete(fields, "id")
	cur := s.current()
	i := s.find(cur, id)
	if i < 0 {
		return errcode.New(errcode.SpecInvalid, "no sticker with id %q", id)
	}
	old := cur[i]
	st, err := applyUpdate(old.st, fields)
	if err != nil {
		return err
	}
	l := &layer{id: id, st: st, src: old.src, added: old.added, cache: old.cache}
	if st.Type == spec.TypeText && (st.Text != old.st.Text || st.Color != old.st.Color || st.Size != nil &&
		(old.st.Size == nil || *st.Size != *old.st.Size) || st.StrokeColor != old.st.StrokeColor ||
		st.Background != old.st.Background || spec.Value(st.StrokeWidth, 0) != spec.Value(old.st.StrokeWidth, 0)) {
		if l.src, err = textSource(st); err != nil {
			return err
		}
		l.cache = &rasterCache{}
	}
	s.replace(id, l)
	return nil
}

func (s *session) removeSticker(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	cur := s.current()
	i := s.find(cur, id)
	if i < 0 {
		return errcode.New(errcode.SpecInvalid, "no sticker with id %q", id)
	}
	next := slices.Delete(slices.Clone(cur), i, i+1)
	s.layers.Store(&next)
	return nil
}

func (s *session) clearStickers() { s.layers.Store(&[]*layer{}) }

func (s *session) current() []*layer {
	if p := s.layers.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *session) find(ls []*layer, id string) int {
	return slices.IndexFunc(ls, func(l *layer) bool { return l.id == id })
}

// replace puts l in place of the sticker with its id, or on top.
func (s *session) replace(id string, l *layer) {
	next := slices.Clone(s.current())
	if i := s.find(next, id); i >= 0 {
		next[i] = l
	} else {
		next = append(next, l)
	}
	s.layers.Store(&next)
}

// drawStickers composites every sticker onto im as it looks at now.
func (s *session) drawStickers(im *vpx.Image, now time.Time) {
	for _, l := range s.current() {
		l.draw(im, now)
	}
}

func (l *layer) draw(im *vpx.Image, now time.Time) {
	t := now.Sub(l.added).Seconds()
	img, frame := l.src.at(t, im.Height)
	if img == nil || img.Rect.Dx() == 0 || img.Rect.Dy() == 0 {
		return
	}
	if k := [3]int{im.Width, im.Height, img.Rect.Dx()}; k != l.propsFor {
		natural := float64(img.Rect.Dx()) / float64(im.Width)
		l.props, l.propsFor = motion.Build(l.st, natural, liveDuration), k
	}
	if len(l.st.Keyframes) == 0 {
		switch l.st.Animation { // periodic presets repeat forever
		case "bounce":
			t = math.Mod(t, 0.6)
		case "spin":
			t = math.Mod(t, 2)
		}
	}
	x, y := l.props.X.At(t), l.props.Y.At(t)
	w, rot, op := l.props.Width.At(t), l.props.Rotation.At(t), l.props.Opacity.At(t)
	wpx := math.Round(w * float64(im.Width))
	hpx := math.Round(wpx * float64(img.Rect.Dy()) / float64(img.Rect.Dx()))
	if f := wpx * hpx / maxRasterPixels; f > 1 {
		wpx, hpx = math.Floor(wpx/math.Sqrt(f)), math.Floor(hpx/math.Sqrt(f))
	}
	if wpx < 1 || hpx < 1 || op <= 0 {
		return
	}
	rot = math.Mod(rot, 360)
	r := l.cache.get(rasterKey{frame: frame, w: int(wpx), h: int(hpx), rot: int(math.Round(rot * 10))}, img)
	left := floorEven(int(math.Round(x*float64(im.Width) - float64(r.w)/2)))
	top := floorEven(int(math.Round(y*float64(im.Height) - float64(r.h)/2)))
	blend(im, r, left, top, int(math.Round(min(op, 1)*256)))
}
