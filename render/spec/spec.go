package spec

// Spec is a render request (sticker spec v1).
type Spec struct {
	Source     Source            `json:"source"`
	Stickers   []Sticker         `json:"stickers"`
	Output     Output            `json:"output"`
	Priority   string            `json:"priority,omitempty"`
	WebhookURL string            `json:"webhook_url,omitempty"`
	Metadata   map[string]string `json:"metadata,omitempty"`
}

// Source is exactly one of an uploaded asset, a URL, a local path (local CLI
// only) or a blank canvas (Color with Width, Height, Duration and FPS).
type Source struct {
	AssetID  string   `json:"asset_id,omitempty"`
	URL      string   `json:"url,omitempty"`
	Path     string   `json:"path,omitempty"`
	Color    string   `json:"color,omitempty"`
	Width    int      `json:"width,omitempty"`
	Height   int      `json:"height,omitempty"`
	Duration float64  `json:"duration,omitempty"`
	FPS      *float64 `json:"fps,omitempty"`
}

// IsCanvas reports whether the source is a blank canvas.
func (s Source) IsCanvas() bool { return s.Color != "" }

// Sticker types.
const (
	TypeImage = "image"
	TypeText  = "text"
)

// Sticker is one layer drawn over the source. Optional numbers are pointers
// so that "unset" (take the default) differs from zero.
type Sticker struct {
	Type string `json:"type"`

	// image
	AssetID string `json:"asset_id,omitempty"`
	URL     string `json:"url,omitempty"`
	Path    string `json:"path,omitempty"`
	Builtin string `json:"builtin,omitempty"`
	Loop    *bool  `json:"loop,omitempty"`

	// text
	Text        string   `json:"text,omitempty"`
	Font        string   `json:"font,omitempty"`
	Size        *float64 `json:"size,omitempty"`
	Color       string   `json:"color,omitempty"`
	StrokeColor string   `json:"stroke_color,omitempty"`
	StrokeWidth *float64 `json:"stroke_width,omitempty"`
	Background  string   `json:"background,omitempty"`

	// timing, placement, animation
	Start     *float64   `json:"start,omitempty"`
	End       *float64   `json:"end,omitempty"`
	X         *float64   `json:"x,omitempty"`
	Y         *float64   `json:"y,omitempty"`
	Width     *float64   `json:"width,omitempty"`
	Rotation  *float64   `json:"rotation,omitempty"`
	Opacity   *float64   `json:"opacity,omitempty"`
	Keyframes []Keyframe `json:"keyframes,omitempty"`
	Animation string     `json:"animation,omitempty"`
}

// Keyframe sets some properties at T seconds from the sticker's start.
type Keyframe struct {
	T        float64  `json:"t"`
	X        *float64 `json:"x,omitempty"`
	Y        *float64 `json:"y,omitempty"`
	Width    *float64 `json:"width,omitempty"`
	Rotation *float64 `json:"rotation,omitempty"`
	Opacity  *float64 `json:"opacity,omitempty"`
	Easing   string   `json:"easing,omitempty"`
}

// Output formats.
const (
	FormatMP4  = "mp4"
	FormatWebM = "webm"
	FormatGIF  = "gif"
	FormatWebP = "webp"
	// FormatPNG and FormatJPG are snapshots: one frame, at output.time.
	FormatPNG = "png"
	FormatJPG = "jpg"
)

// Output says what to produce. Zero Width/Height/FPS mean "the source's".
type Output struct {
	Format   string   `json:"format,omitempty"`
	Width    int      `json:"width,omitempty"`
	Height   int      `json:"height,omitempty"`
	FPS      *float64 `json:"fps,omitempty"`
	MaxBytes int64    `json:"max_bytes,omitempty"`
	Quality  string   `json:"quality,omitempty"`
	Audio    *bool    `json:"audio,omitempty"`
	// RenderMode is "auto" (the default: the engine copies the source's
	// untouched stretches where it can do so exactly) or "full" (every
	// frame is decoded and encoded again).
	RenderMode string `json:"render_mode,omitempty"`
	// Time is the moment (seconds) a snapshot (png, jpg) shows; png and
	// jpg only, default 0.
	Time *float64 `json:"time,omitempty"`
}

// Render modes.
const (
	RenderModeAuto = "auto"
	RenderModeFull = "full"
)

// AudioEnabled reports whether the source's audio is kept (default true).
func (o Output) AudioEnabled() bool { return o.Audio == nil || *o.Audio }

// Loops reports whether an animated image sticker loops (default true).
func (s Sticker) Loops() bool { return s.Loop == nil || *s.Loop }

// Value returns *p, or def when p is nil.
func Value(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// Float returns a pointer to v, for building specs in code.
func Float(v float64) *float64 { return &v }

// Bool returns a pointer to v, for building specs in code.
func Bool(v bool) *bool { return &v }
