package spec

// Default values of the contract.
const (
	DefaultFormat    = FormatMP4
	DefaultQuality   = "standard"
	DefaultPriority  = "normal"
	DefaultTextSize  = 0.08
	DefaultTextColor = "#FFFFFF"
	DefaultFont      = "sans"
	DefaultCanvasFPS = 30.0
)

// ApplyDefaults fills the defaults that do not depend on the source, so
// that two requests that mean the same thing look the same (the result
// cache keys on this form). Defaults that need the probed source (end,
// output size and frame rate) are resolved by the render engine.
func (s *Spec) ApplyDefaults() {
	if s.Output.Format == "" {
		s.Output.Format = DefaultFormat
	}
	if s.Output.Quality == "" {
		s.Output.Quality = DefaultQuality
	}
	if s.Output.RenderMode == "" {
		s.Output.RenderMode = RenderModeAuto
	}
	if IsSnapshot(s.Output.Format) && s.Output.Time == nil {
		s.Output.Time = Float(0) // the first frame
	}
	if s.Output.Audio == nil {
		s.Output.Audio = Bool(true)
	}
	if s.Priority == "" {
		s.Priority = DefaultPriority
	}
	if s.Source.IsCanvas() && s.Source.FPS == nil {
		s.Source.FPS = Float(DefaultCanvasFPS)
	}
	for i := range s.Stickers {
		st := &s.Stickers[i]
		setDefault(&st.Start, 0)
		setDefault(&st.X, 0.5)
		setDefault(&st.Y, 0.5)
		setDefault(&st.Rotation, 0)
		setDefault(&st.Opacity, 1)
		if st.Animation == "" {
			st.Animation = "none"
		}
		for k := range st.Keyframes {
			if st.Keyframes[k].Easing == "" {
				st.Keyframes[k].Easing = "linear"
			}
		}
		if st.Type == TypeText {
			setDefault(&st.Size, DefaultTextSize)
			setDefault(&st.StrokeWidth, 0)
			if st.Font == "" {
				st.Font = DefaultFont
			}
			if st.Color == "" {
				st.Color = DefaultTextColor
			}
		}
	}
}

func setDefault(p **float64, v float64) {
	if *p == nil {
		*p = Float(v)
	}
}
