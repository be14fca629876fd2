package builtin

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var kebab = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// wantColour is each sticker's dominant opaque colour class; "multi" means
// several colours share the picture (see colourClass).
var wantColour = map[string]string{
	"arrow": "blue", "beating-heart": "red", "blinking-smiley": "yellow",
	"bouncing-ball": "yellow", "check": "green", "cloud": "white",
	"confetti": "multi", "cross": "red", "fire": "orange", "heart": "red",
	"pulsing-ring": "pink", "rainbow-wave": "multi", "smiley": "yellow",
	"sparkle": "cyan", "speech-bubble": "purple", "spinning-star": "yellow",
	"star": "yellow", "sun": "yellow", "thumbs-up": "yellow",
}

func TestList(t *testing.T) {
	list := List()
	animated := 0
	for _, s := range list {
		if s.Animated {
			animated++
		}
	}
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"HasEnoughEntries", func(t *testing.T) {
			if len(list) < 14 {
				t.Errorf("List() has %d entries, want >= 14", len(list))
			}
		}},
		{"HasAnimated", func(t *testing.T) {
			if animated < 5 {
				t.Errorf("List() has %d animated entries, want >= 5", animated)
			}
		}},
		{"NamesUniqueKebab", func(t *testing.T) {
			seen := map[string]bool{}
			for _, s := range list {
				if !kebab.MatchString(s.Name) {
					t.Errorf("name %q is not lowercase-kebab", s.Name)
				}
				if seen[s.Name] {
					t.Errorf("name %q listed twice", s.Name)
				}
				seen[s.Name] = true
			}
		}},
		{"Sorted", func(t *testing.T) {
			if !slices.IsSortedFunc(list, func(a, b Sticker) int { return strings.Compare(a.Name, b.Name) }) {
				t.Error("List() is not sorted by name")
			}
		}},
		{"FieldsConsistent", func(t *testing.T) {
			for _, s := range list {
				ok := s.Title != "" && len(s.Tags) > 0 && s.Width == size && s.Height == size
				if s.Animated {
					ok = ok && s.Format == "gif" && s.Frames >= 12 && s.Frames <= 20 &&
						s.Duration >= 0.05*float64(s.Frames) && s.Duration <= 0.08*float64(s.Frames)
				} else {
					ok = ok && s.Format == "png" && s.Frames == 1 && s.Duration == 0
				}
				if !ok {
					t.Errorf("inconsistent entry %+v", s)
				}
			}
		}},
		{"HasColourExpectation", func(t *testing.T) {
			for _, s := range list {
				if wantColour[s.Name] == "" {
					t.Errorf("no expected colour for %q in wantColour", s.Name)
				}
			}
		}},
		{"ReturnsCopies", func(t *testing.T) {
			l := List()
			l[0].Tags[0], l[0].Name = "mutated", "mutated"
			if again := List(); again[0].Name == "mutated" || again[0].Tags[0] == "mutated" {
				t.Error("List() shares state with callers")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.check)
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		unknown bool
	}{
		{"heart", false}, {"beating-heart", false}, {"rainbow-wave", false},
		{"", true}, {"Heart", true}, {"no-such-sticker", true}, {"../heart", true},
	}
	for _, tt := range tests {
		t.Run("name="+tt.name, func(t *testing.T) {
			s, err := Lookup(tt.name)
			if tt.unknown {
				if !errors.Is(err, ErrUnknown) {
					t.Fatalf("Lookup(%q) error = %v, want ErrUnknown", tt.name, err)
				}
				if !strings.Contains(err.Error(), tt.name) {
					t.Errorf("error %q does not name %q", err, tt.name)
				}
				if err := Encode(tt.name, &bytes.Buffer{}); !errors.Is(err, ErrUnknown) {
					t.Errorf("Encode(%q) error = %v, want ErrUnknown", tt.name, err)
				}
				return
			}
			if err != nil || s.Name != tt.name {
				t.Fatalf("Lookup(%q) = %+v, %v", tt.name, s, err)
			}
		})
	}
}

// decode decodes a sticker file into its frames (and the GIF, if animated).
func decode(t *testing.T, s Sticker, data []byte) ([]image.Image, *gif.GIF) {
	t.Helper()
	if !s.Animated {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("png.Decode: %v", err)
		}
		if _, ok := img.(*image.NRGBA); !ok {
			t.Errorf("PNG decodes as %T, want *image.NRGBA", img)
		}
		return []image.Image{img}, nil
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("gif.DecodeAll: %v", err)
	}
	frames := make([]image.Image, len(g.Image))
	for i, p := range g.Image {
		frames[i] = p
	}
	return frames, g
}

func TestEncode_Decodes(t *testing.T) {
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Encode(s.Name, &buf); err != nil {
				t.Fatal(err)
			}
			frames, g := decode(t, s, buf.Bytes())
			if len(frames) != s.Frames {
				t.Fatalf("%d frames, want %d", len(frames), s.Frames)
			}
			for i, f := range frames {
				if b := f.Bounds(); b.Dx() != s.Width || b.Dy() != s.Height {
					t.Errorf("frame %d is %v, want %dx%d", i, b, s.Width, s.Height)
				}
				transparent, solid := coverage(f)
				if transparent == 0 || solid == 0 {
					t.Errorf("frame %d: %d transparent and %d opaque pixels, want both", i, transparent, solid)
				}
				if i > 0 && sameImage(f, frames[i-1]) {
					t.Errorf("frame %d is identical to frame %d", i, i-1)
				}
			}
			if got, want := dominant(frames[0]), wantColour[s.Name]; got != want {
				t.Errorf("dominant colour %q, want %q (shares %v)", got, want, shares(frames[0]))
			}
			if g != nil {
				checkGIF(t, g)
			}
		})
	}
}

func checkGIF(t *testing.T, g *gif.GIF) {
	t.Helper()
	if g.LoopCount != 0 {
		t.Errorf("LoopCount = %d, want 0 (forever)", g.LoopCount)
	}
	for i, d := range g.Delay {
		if d < 5 || d > 8 {
			t.Errorf("frame %d delay %d0 ms, want 50-80 ms", i, d)
		}
	}
	for i, d := range g.Disposal {
		if d != gif.DisposalBackground {
			t.Errorf("frame %d disposal %d, want DisposalBackground", i, d)
		}
	}
	for i, p := range g.Image {
		if _, _, _, a := p.Palette[p.Pix[0]].RGBA(); a != 0 {
			t.Errorf("frame %d: corner pixel is not the transparent index", i)
		}
	}
}

func TestEncode_Deterministic(t *testing.T) {
	for _, e := range catalogue {
		t.Run(e.name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := Encode(e.name, &a); err != nil {
				t.Fatal(err)
			}
			if err := Encode(e.name, &b); err != nil {
				t.Fatal(err)
			}
			fresh, err := e.render() // bypass the cache
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) || !bytes.Equal(a.Bytes(), fresh) {
				t.Error("encodings differ between calls")
			}
		})
	}
}

func BenchmarkRenderCatalogue(b *testing.B) {
	for b.Loop() {
		for _, e := range catalogue {
			if _, err := e.render(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// coverage counts fully transparent and (at least half) opaque pixels.
func coverage(img image.Image) (transparent, solid int) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch _, _, _, a := img.At(x, y).RGBA(); {
			case a == 0:
				transparent++
			case a >= 0x8000:
				solid++
			}
		}
	}
	return transparent, solid
}

func sameImage(a, b image.Image) bool {
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}
