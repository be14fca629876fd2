package spec

import (
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/builtin"
)

var (
	assetIDRe = regexp.MustCompile(`^ast_[A-Za-z0-9_-]{1,64}$`)
	colorRe   = regexp.MustCompile(`^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$`)
)

type validator struct {
	opt  ParseOptions
	errs []errcode.FieldError
}

func (v *validator) add(field, format string, args ...any) {
	v.errs = append(v.errs, FieldErr(field, format, args...))
}

// Validate checks every rule of the contract and returns nil or one
// SPEC_INVALID error listing each problem with its field path.
func (s *Spec) Validate(opt ParseOptions) error {
	v := &validator{opt: opt}
	v.source(&s.Source)
	if len(s.Stickers) == 0 {
		v.add("stickers", "at least one sticker is required")
	}
	if len(s.Stickers) > MaxStickers {
		v.add("stickers", "%d stickers, at most %d", len(s.Stickers), MaxStickers)
	}
	for i := range s.Stickers {
		v.sticker(&s.Stickers[i], fmt.Sprintf("stickers[%d]", i))
	}
	v.output(&s.Output, s.Source)
	v.oneOf("priority", s.Priority, priorities)
	if s.WebhookURL != "" {
		v.url("webhook_url", s.WebhookURL)
	}
	if len(s.Metadata) > MaxMetadataKeys {
		v.add("metadata", "%d keys, at most %d", len(s.Metadata), MaxMetadataKeys)
	}
	for k, val := range s.Metadata {
		if k == "" || len(k) > MaxMetadataKey {
			v.add("metadata", "keys are 1 to %d bytes", MaxMetadataKey)
		}
		if len(val) > MaxMetadataValue {
			v.add(join("metadata", k), "at most %d bytes", MaxMetadataValue)
		}
	}
	if len(v.errs) > 0 {
		return invalid(v.errs...)
	}
	return nil
}

func (v *validator) source(src *Source) {
	set := 0
	for _, s := range []string{src.AssetID, src.URL, src.Path, src.Color} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		v.add("source", "exactly one of asset_id, url or a blank canvas (color, width, height, duration) is required")
	}
	if src.AssetID != "" {
		v.assetID("source.asset_id", src.AssetID)
	}
	if src.URL != "" {
		v.url("source.url", src.URL)
	}
	if src.Path != "" && !v.opt.AllowPaths {
		v.add("source.path", "local paths are accepted only by the local command-line renderer")
	}
	if !src.IsCanvas() {
		for _, f := range []field{{"width", src.Width != 0}, {"height", src.Height != 0}, {"duration", src.Duration != 0}, {"fps", src.FPS != nil}} {
			if f.set {
				v.add("source."+f.name, "only a blank canvas (color) takes %s", f.name)
			}
		}
		return
	}
	v.color("source.color", src.Color)
	v.dims("source", src.Width, src.Height, true, false)
	if !(src.Duration > 0 && src.Duration <= MaxCanvasDuration) {
		v.add("source.duration", "must be greater than 0 and at most %g seconds", MaxCanvasDuration)
	}
	if src.FPS != nil {
		v.fps("source.fps", *src.FPS)
	}
}

func (v *validator) sticker(st *Sticker, p string) {
	switch st.Type {
	case TypeImage:
		set := 0
		for _, s := range []string{st.AssetID, st.URL, st.Path, st.Builtin} {
			if s != "" {
				set++
			}
		}
		if set != 1 {
			v.add(p, "an image sticker needs exactly one of asset_id, url or builtin")
		}
		if st.AssetID != "" {
			v.assetID(p+".asset_id", st.AssetID)
		}
		if st.URL != "" {
			v.url(p+".url", st.URL)
		}
		if st.Path != "" && !v.opt.AllowPaths {
			v.add(p+".path", "local paths are accepted only by the local command-line renderer")
		}
		if st.Builtin != "" {
			if _, err := builtin.Lookup(st.Builtin); err != nil {
				v.add(p+".builtin", "no built-in sticker named %q (see GET /v1/stickers)", st.Builtin)
			}
		}
		v.notFor(p, "text", []field{{"text", st.Text != ""}, {"font", st.Font != ""}, {"size", st.Size != nil},
			{"color", st.Color != ""}, {"stroke_color", st.StrokeColor != ""}, {"stroke_width", st.StrokeWidth != nil},
			{"background", st.Background != ""}})
	case TypeText:
		v.text(st, p)
	case "":
		v.add(p+".type", "is required: image or text")
	default:
		v.add(p+".type", "must be image or text, not %q", st.Type)
	}
	v.timing(st, p)
	v.props(p, st.X, st.Y, st.Width, st.Rotation, st.Opacity)
	if len(st.Keyframes) > MaxKeyframes {
		v.add(p+".keyframes", "%d keyframes, at most %d", len(st.Keyframes), MaxKeyframes)
	}
	for i, kf := range st.Keyframes {
		kp := fmt.Sprintf("%s.keyframes[%d]", p, i)
		if !finite(kf.T) || kf.T < 0 {
			v.add(kp+".t", "must be a number of seconds, 0 or more")
		} else if i > 0 && kf.T <= st.Keyframes[i-1].T {
			v.add(kp+".t", "keyframe times must increase (previous is %g)", st.Keyframes[i-1].T)
		}
		if kf.X == nil && kf.Y == nil && kf.Width == nil && kf.Rotation == nil && kf.Opacity == nil {
			v.add(kp, "a keyframe must set at least one of x, y, width, rotation, opacity")
		}
		v.props(kp, kf.X, kf.Y, kf.Width, kf.Rotation, kf.Opacity)
		v.oneOf(kp+".easing", kf.Easing, Easings)
	}
	v.oneOf(p+".animation", st.Animation, Animations)
}

func (v *validator) text(st *Sticker, p string) {
	switch n := utf8.RuneCountInString(st.Text); {
	case !utf8.ValidString(st.Text):
		v.add(p+".text", "must be valid UTF-8")
	case strings.TrimSpace(st.Text) == "":
		v.add(p+".text", "is required for a text sticker")
	case n > MaxTextRunes:
		v.add(p+".text", "%d characters, at most %d", n, MaxTextRunes)
	}
	switch {
	case st.Font == "" || slices.Contains(Fonts, st.Font):
	case strings.HasPrefix(st.Font, "ast_"):
		v.assetID(p+".font", st.Font)
	case v.opt.AllowPaths && (strings.HasSuffix(st.Font, ".ttf") || strings.HasSuffix(st.Font, ".otf")):
	default:
		v.add(p+".font", "must be sans, serif, mono or an uploaded font's asset_id")
	}
	if st.Size != nil && !(finite(*st.Size) && *st.Size > 0 && *st.Size <= 1) {
		v.add(p+".size", "must be a fraction of the output height, greater than 0 and at most 1")
	}
	if st.Color != "" {
		v.color(p+".color", st.Color)
	}
	if st.StrokeColor != "" {
		v.color(p+".stroke_color", st.StrokeColor)
	}
	if st.StrokeWidth != nil && !(finite(*st.StrokeWidth) && *st.StrokeWidth >= 0 && *st.StrokeWidth <= MaxStrokeWidth) {
		v.add(p+".stroke_width", "must be between 0 and %g (a fraction of the output height)", MaxStrokeWidth)
	}
	if st.Background != "" {
		v.color(p+".background", st.Background)
	}
	v.notFor(p, "image", []field{{"asset_id", st.AssetID != ""}, {"url", st.URL != ""},
		{"path", st.Path != ""}, {"builtin", st.Builtin != ""}, {"loop", st.Loop != nil}})
}

func (v *validator) timing(st *Sticker, p string) {
	start := Value(st.Start, 0)
	if !finite(start) || start < 0 {
		v.add(p+".start", "must be 0 or more seconds")
	}
	if st.End != nil {
		if !finite(*st.End) || *st.End <= start {
			v.add(p+".end", "must be greater than start (%g)", start)
		}
	}
}

func (v *validator) props(p string, x, y, width, rotation, opacity *float64) {
	unit := func(name string, f *float64) {
		if f != nil && !(finite(*f) && *f >= 0 && *f <= 1) {
			v.add(p+"."+name, "must be between 0 and 1")
		}
	}
	unit("x", x)
	unit("y", y)
	unit("opacity", opacity)
	if width != nil && !(finite(*width) && *width > 0 && *width <= MaxStickerWidth) {
		v.add(p+".width", "must be a fraction of the output width, greater than 0 and at most %g", MaxStickerWidth)
	}
	if rotation != nil && !(finite(*rotation) && math.Abs(*rotation) <= MaxRotation) {
		v.add(p+".rotation", "must be degrees between -%g and %g", MaxRotation, MaxRotation)
	}
}

func (v *validator) output(o *Output, src Source) {
	v.oneOf("output.format", o.Format, formats)
	v.oneOf("output.quality", o.Quality, qualities)
	v.oneOf("output.render_mode", o.RenderMode, RenderModes)
	if o.Width != 0 || o.Height != 0 {
		n := len(v.errs)
		v.dims("output", o.Width, o.Height, o.Format == "" || o.Format == FormatMP4, true)
		if src.IsCanvas() && src.Width > 0 && src.Height > 0 && len(v.errs) == n {
			// A canvas's size is known now: a side derived from it is
			// checked at submit, not when a worker starts.
			if _, _, fe := OutputSize(*o, src.Width, src.Height); fe != nil {
				v.errs = append(v.errs, *fe)
			}
		}
	}
	if o.FPS != nil {
		v.fps("output.fps", *o.FPS)
	}
	if o.MaxBytes != 0 && o.MaxBytes < MinMaxBytes {
		v.add("output.max_bytes", "must be at least %d bytes", MinMaxBytes)
	}
	v.snapshot(o, src) // snapshot.go
}

// dims checks a width/height pair; partial allows one of the two to be
// omitted (the other follows the source's aspect ratio).
func (v *validator) dims(p string, w, h int, even, partial bool) {
	check := func(name string, n int) {
		if n == 0 && partial {
			return
		}
		if n < MinSide || n > MaxLongSide {
			v.add(p+"."+name, "must be between %d and %d pixels", MinSide, MaxLongSide)
		} else if even && n%2 != 0 {
			v.add(p+"."+name, "must be even for mp4 (H.264 4:2:0)")
		}
	}
	check("width", w)
	check("height", h)
	if min(w, h) > MaxShortSide && max(w, h) <= MaxLongSide {
		v.add(p, "%dx%d is over the limit of %dx%d", w, h, MaxLongSide, MaxShortSide)
	}
}

func (v *validator) fps(p string, f float64) {
	if !(finite(f) && f >= 1 && f <= MaxFPS) {
		v.add(p, "must be between 1 and %d", MaxFPS)
	}
}

func (v *validator) color(p, c string) {
	if !colorRe.MatchString(c) {
		v.add(p, "must be #RRGGBB or #RRGGBBAA")
	}
}

func (v *validator) assetID(p, id string) {
	if !assetIDRe.MatchString(id) {
		v.add(p, "must be an asset id like ast_…")
	}
}

func (v *validator) url(p, raw string) {
	if len(raw) > MaxURLLength {
		v.add(p, "at most %d characters", MaxURLLength)
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		v.add(p, "must be an http or https URL without credentials")
	}
}

func (v *validator) oneOf(p, val string, allowed []string) {
	if val != "" && !slices.Contains(allowed, val) {
		v.add(p, "must be one of %s, not %q", strings.Join(allowed, ", "), val)
	}
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

type field struct {
	name string
	set  bool
}

// notFor reports each set field as belonging to the other sticker type.
func (v *validator) notFor(p, owner string, fields []field) {
	for _, f := range fields {
		if f.set {
			v.add(p+"."+f.name, "only %s stickers take %s", owner, f.name)
		}
	}
}
