package spec

// IsSnapshot reports whether an output format is a snapshot: one frame,
// the one shown at output.time, as a still picture.
func IsSnapshot(format string) bool { return format == FormatPNG || format == FormatJPG }

// snapshot checks output.time and the video-only options against the
// format. A snapshot refuses the options it could not honour, rather
// than dropping them silently: max_bytes (one frame at its quality has
// no rate to control) and fps (the frame is the source's own, as shown
// at that moment). audio and render_mode are ignored, as gif and webp
// ignore audio: an image has no sound and no stretches to copy, and
// ApplyDefaults sets both on every spec.
func (v *validator) snapshot(o *Output, src Source) {
	if !IsSnapshot(o.Format) {
		if o.Time != nil {
			v.add("output.time", "only png and jpg outputs (one frame) take a time; a %s renders the whole timeline", orMP4(o.Format))
		}
		return
	}
	if o.MaxBytes != 0 {
		v.add("output.max_bytes", "a %s snapshot is one frame at output.quality and has no size ceiling; leave max_bytes out (a smaller output.width makes a smaller file)", o.Format)
	}
	if o.FPS != nil {
		v.add("output.fps", "a %s snapshot is one frame, the one shown at output.time; fps applies to video formats", o.Format)
	}
	if o.Time == nil {
		return
	}
	t := *o.Time
	switch {
	case !finite(t) || t < 0:
		v.add("output.time", "must be 0 or more seconds")
	case src.IsCanvas() && src.Duration > 0 && src.Duration <= MaxCanvasDuration && t >= src.Duration:
		// A canvas's length is known now; an uploaded source's is checked
		// when the job is planned.
		v.add("output.time", "%g s is not before the end of the canvas (%g s)", t, src.Duration)
	}
}

func orMP4(format string) string {
	if format == "" {
		return FormatMP4
	}
	return format
}
