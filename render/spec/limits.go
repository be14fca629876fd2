package spec

// The static limits of the contract. Limits that depend on the deployment
// (asset bytes, source duration) live in the render engine's Config.
const (
	MaxStickers       = 64
	MaxKeyframes      = 64
	MaxTextRunes      = 500
	MaxLongSide       = 3840 // output and canvas: at most 3840×2160, either orientation
	MaxShortSide      = 2160
	MinSide           = 16
	MaxFPS            = 60
	MaxCanvasDuration = 600.0 // seconds
	MaxStickerWidth   = 4.0   // fraction of the output width
	MaxRotation       = 36000.0
	MaxStrokeWidth    = 0.1 // fraction of the output height
	MinMaxBytes       = 10_000
	MaxMetadataKeys   = 32
	MaxMetadataKey    = 64
	MaxMetadataValue  = 512
	MaxURLLength      = 2048
)

// Easings of keyframe segments.
var Easings = []string{"linear", "ease-in", "ease-out", "ease-in-out", "step"}

// Animations are the presets that expand to keyframes.
var Animations = []string{"none", "fade-in", "fade-out", "pop", "bounce", "spin",
	"slide-in-left", "slide-in-right", "slide-in-top", "slide-in-bottom"}

// Fonts are the built-in font names; an uploaded font is named by asset id.
var Fonts = []string{"sans", "serif", "mono"}

var (
	formats   = []string{FormatMP4, FormatWebM, FormatGIF, FormatWebP, FormatPNG, FormatJPG}
	qualities = []string{"draft", "standard", "high"}
	// RenderModes are output.render_mode's values.
	RenderModes = []string{RenderModeAuto, RenderModeFull}
	priorities  = []string{"high", "normal", "low"}
)
