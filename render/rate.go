package render

import (
	"fmt"
	"math"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/spec"
)

// rateSettings carry what rate control varies between encodes. Zero
// videoBitrate means quality mode (CRF) without a cap.
type rateSettings struct {
	videoBitrate int // bits/s; a cap on top of CRF for mp4 and webm
	audioBitrate int // bits/s
	gifColors    int
	webpQuality  int
}

// Floors below which a smaller file is not worth making.
const (
	minVideoBitrate = 24_000
	minWebPQuality  = 5
	minGIFColors    = 8
)

var audioSteps = []int{128_000, 96_000, 64_000, 32_000}

// initialRate picks the settings of the first encode. With max_bytes it
// budgets the bits: the audio takes at most a fifth, the container an
// allowance per frame, and the video a capped CRF (VBV) at the rest.
func initialRate(p *plan) (rateSettings, error) {
	rs := rateSettings{audioBitrate: audioSteps[0], gifColors: 256, webpQuality: qualityOf(p.quality).webpQuality}
	if p.maxBytes == 0 || (p.format != spec.FormatMP4 && p.format != spec.FormatWebM) {
		return rs, nil
	}
	frames := p.duration * p.fps
	budget := (float64(p.maxBytes)*0.95 - 8192 - frames*24) * 8 / p.duration
	if p.audio {
		rs.audioBitrate = audioSteps[len(audioSteps)-1]
		for _, a := range audioSteps {
			if float64(a) <= budget/5 {
				rs.audioBitrate = a
				break
			}
		}
		budget -= float64(rs.audioBitrate)
	}
	if budget < minVideoBitrate {
		return rs, tooLarge(p)
	}
	rs.videoBitrate = int(budget)
	return rs, nil
}

// tighten returns the settings for the next encode after one came out at
// got bytes, over the ceiling; false when nothing smaller is possible.
func tighten(p *plan, rs rateSettings, got int64) (rateSettings, bool) {
	ratio := float64(p.maxBytes) / float64(got)
	switch p.format {
	case spec.FormatGIF:
		if rs.gifColors <= minGIFColors {
			return rs, false
		}
		rs.gifColors = max(minGIFColors, rs.gifColors/2)
	case spec.FormatWebP:
		if rs.webpQuality <= minWebPQuality {
			return rs, false
		}
		rs.webpQuality = max(minWebPQuality, int(float64(rs.webpQuality)*math.Min(0.7, ratio)))
	default:
		next := int(float64(rs.videoBitrate) * ratio * 0.9)
		if rs.videoBitrate <= minVideoBitrate {
			return rs, false
		}
		rs.videoBitrate = max(minVideoBitrate, next)
	}
	return rs, true
}

func tooLarge(p *plan) error {
	return errcode.New(errcode.OutputTooLarge, "output.max_bytes: %d bytes cannot hold %.1f s of %dx%d %s at any usable quality",
		p.maxBytes, p.duration, p.width, p.height, p.format)
}

func describeRate(rs rateSettings) string {
	return fmt.Sprintf("video %d b/s, audio %d b/s, gif colors %d, webp quality %d",
		rs.videoBitrate, rs.audioBitrate, rs.gifColors, rs.webpQuality)
}
