package render

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/render/motion"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/render/text"
)

// drawText is a text sticker that ffmpeg's drawtext draws straight onto the
// frame: for one line of plain text in a built-in font that neither
// rotates nor changes size, it is the same picture as a rasterised sticker
// for less work. The text reaches drawtext through a file (textfile, with
// expansion off), so no character of it is ever part of the filter graph.
type drawText struct {
	textFile, fontFile string
	sizePx             int
	color, border      string // 0xRRGGBB@alpha
	borderPx           int
	box                string // "" when no background
	boxPad             int
}

// emSize is the em size, as a fraction of the line height render/text uses
// for the same style, so both text paths draw text of the same size.
var emSize = map[string]float64{"sans": 0.865, "mono": 0.865, "serif": 0.859}

// plainText reports whether drawtext can draw the sticker: one line,
// characters the built-in fonts have (no emoji), and no rotation or size
// animation.
func plainText(st spec.Sticker) bool {
	if _, ok := emSize[st.Font]; !ok || strings.ContainsAny(st.Text, "\n\r") {
		return false
	}
	for _, r := range st.Text {
		if r > 0x24F || !unicode.IsPrint(r) { // Latin only: emoji and other scripts use render/text
			return false
		}
	}
	if spec.Value(st.Rotation, 0) != 0 || st.Width != nil {
		return false
	}
	for _, k := range st.Keyframes {
		if k.Rotation != nil || k.Width != nil {
			return false
		}
	}
	switch st.Animation {
	case "pop", "spin":
		return false
	}
	return true
}

func (e *Engine) prepareDrawText(p *plan, st spec.Sticker, i int) (*drawText, error) {
	fontPath, err := e.fontFile(st.Font)
	if err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "writing a font")
	}
	textPath := filepath.Join(p.workDir, fmt.Sprintf("text-%d.txt", i))
	if err := os.WriteFile(textPath, []byte(strings.TrimSpace(st.Text)), 0o644); err != nil {
		return nil, errcode.Wrap(errcode.StorageFailed, err, "writing a text layer")
	}
	h := spec.Value(st.Size, spec.DefaultTextSize) * float64(p.height)
	d := &drawText{textFile: textPath, fontFile: fontPath, sizePx: max(1, int(h*emSize[st.Font]+0.5)),
		color: ffColor(spec.ParseColor(st.Color))}
	if sw := spec.Value(st.StrokeWidth, 0) * float64(p.height); sw > 0 {
		d.borderPx = max(1, int(sw+0.5))
		d.border = ffColor(spec.ParseColor("#000000"))
		if st.StrokeColor != "" {
			d.border = ffColor(spec.ParseColor(st.StrokeColor))
		}
	}
	if st.Background != "" {
		d.box, d.boxPad = ffColor(spec.ParseColor(st.Background)), max(1, int(0.25*h+0.5))
	}
	return d, nil
}

// fontSums holds the SHA-256 of each built-in font, by name.
var fontSums sync.Map // string -> [sha256.Size]byte

// fontFile returns the path of the built-in font's file for drawtext in
// CacheDir: named by its SHA-256 and checked byte for byte on every use,
// so a file left there by anyone else is replaced rather than drawn with.
func (e *Engine) fontFile(name string) (string, error) {
	font, ok := text.FontFile(name)
	if !ok {
		return "", fmt.Errorf("no built-in font %q", name)
	}
	sum, ok := fontSums.Load(name)
	if !ok {
		sum, _ = fontSums.LoadOrStore(name, sha256.Sum256(font))
	}
	return cachedFile(e.cfg.CacheDir, "font-"+name, ".ttf", font, sum.([sha256.Size]byte))
}

func ffColor(c interface{ RGBA() (r, g, b, a uint32) }) string {
	r, g, b, a := c.RGBA()
	if a == 0 {
		return "0x000000@0"
	}
	// RGBA is premultiplied; undo it for drawtext's straight colour.
	r, g, b = r*0xffff/a, g*0xffff/a, b*0xffff/a
	return fmt.Sprintf("0x%02X%02X%02X@%s", r>>8, g>>8, b>>8, motion.Num(float64(a)/0xffff))
}
