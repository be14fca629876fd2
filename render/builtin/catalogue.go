package builtin

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"slices"
	"strings"
	"sync"
)

// Sticker describes one catalogue entry, as listed by GET /v1/stickers.
type Sticker struct {
	Name     string   `json:"name"`     // lowercase-kebab, e.g. "heart", "party-popper"
	Title    string   `json:"title"`    // human title
	Animated bool     `json:"animated"` // GIF when true, PNG otherwise
	Format   string   `json:"format"`   // "png" or "gif"
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Frames   int      `json:"frames"`
	Duration float64  `json:"duration"` // seconds, 0 for stills
	Tags     []string `json:"tags"`
}

// size is the edge of every sticker, in pixels.
const size = 256

// entry is a catalogue entry: its drawing function paints the frame at phase
// t in [0, 1) (always 0 for stills) onto a cleared canvas.
type entry struct {
	name, title string
	tags        string
	frames      int // 1 for stills
	delay       int // hundredths of a second per frame, animated only
	draw        func(c *canvas, t float64)

	once sync.Once
	data []byte
	err  error
}

var catalogue = []*entry{
	{name: "heart", title: "Heart", tags: "love red", frames: 1, draw: drawHeart},
	{name: "star", title: "Star", tags: "favourite gold", frames: 1, draw: drawStar},
	{name: "smiley", title: "Smiley", tags: "face happy", frames: 1, draw: drawSmiley},
	{name: "sun", title: "Sun", tags: "weather sunny", frames: 1, draw: drawSun},
	{name: "cloud", title: "Cloud", tags: "weather", frames: 1, draw: drawCloud},
	{name: "thumbs-up", title: "Thumbs Up", tags: "like yes hand", frames: 1, draw: drawThumbsUp},
	{name: "check", title: "Check Mark", tags: "yes done ok", frames: 1, draw: drawCheck},
	{name: "cross", title: "Cross Mark", tags: "no wrong", frames: 1, draw: drawCross},
	{name: "arrow", title: "Arrow", tags: "next direction", frames: 1, draw: drawArrow},
	{name: "speech-bubble", title: "Speech Bubble", tags: "chat talk", frames: 1, draw: drawSpeechBubble},
	{name: "fire", title: "Fire", tags: "hot flame lit", frames: 1, draw: drawFire},
	{name: "sparkle", title: "Sparkle", tags: "shiny magic new", frames: 1, draw: drawSparkle},
	{name: "beating-heart", title: "Beating Heart", tags: "love red pulse", frames: 16, delay: 6, draw: drawBeatingHeart},
	{name: "spinning-star", title: "Spinning Star", tags: "favourite gold", frames: 16, delay: 6, draw: drawSpinningStar},
	{name: "confetti", title: "Confetti", tags: "party celebrate", frames: 18, delay: 6, draw: drawConfetti},
	{name: "bouncing-ball", title: "Bouncing Ball", tags: "play fun", frames: 16, delay: 5, draw: drawBouncingBall},
	{name: "blinking-smiley", title: "Blinking Smiley", tags: "face happy wink", frames: 16, delay: 8, draw: drawBlinkingSmiley},
	{name: "pulsing-ring", title: "Pulsing Ring", tags: "ping signal live", frames: 16, delay: 6, draw: drawPulsingRing},
	{name: "rainbow-wave", title: "Rainbow Wave", tags: "pride colourful", frames: 16, delay: 6, draw: drawRainbowWave},
}

var byName = map[string]*entry{}

func init() {
	slices.SortFunc(catalogue, func(a, b *entry) int { return strings.Compare(a.name, b.name) })
	for _, e := range catalogue {
		byName[e.name] = e
	}
}

func (e *entry) sticker() Sticker {
	s := Sticker{Name: e.name, Title: e.title, Format: "png", Width: size, Height: size,
		Frames: e.frames, Tags: strings.Fields(e.tags)}
	if e.frames > 1 {
		s.Animated, s.Format = true, "gif"
		s.Duration = float64(e.frames*e.delay) / 100
	}
	return s
}

// List returns the catalogue, sorted by name.
func List() []Sticker {
	out := make([]Sticker, len(catalogue))
	for i, e := range catalogue {
		out[i] = e.sticker()
	}
	return out
}

// Lookup returns the entry for name, or an error wrapping ErrUnknown.
func Lookup(name string) (Sticker, error) {
	e, ok := byName[name]
	if !ok {
		return Sticker{}, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	return e.sticker(), nil
}

// encoded returns the sticker's file contents, rendering it on first use.
// The slice is shared and must not be modified.
func encoded(name string) ([]byte, error) {
	e, ok := byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	e.once.Do(func() { e.data, e.err = e.render() })
	return e.data, e.err
}

func (e *entry) render() ([]byte, error) {
	c := newCanvas(size, size)
	var buf bytes.Buffer
	if e.frames == 1 {
		e.draw(c, 0)
		if err := png.Encode(&buf, c.image()); err != nil {
			return nil, fmt.Errorf("builtin: encode %s: %w", e.name, err)
		}
		return buf.Bytes(), nil
	}
	if err := encodeGIF(&buf, c, e.draw, e.frames, e.delay); err != nil {
		return nil, fmt.Errorf("builtin: encode %s: %w", e.name, err)
	}
	return buf.Bytes(), nil
}

// Encode writes the sticker's file (PNG or GIF) to w. The output is
// deterministic: the same bytes every time.
func Encode(name string, w io.Writer) error {
	data, err := encoded(name)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
