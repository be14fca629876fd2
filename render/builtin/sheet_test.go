package builtin

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"os"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// TestContactSheet writes the first frame of every sticker, labelled, on a
// checkerboard to the PNG named by $STICKERD_SHEET (skipped when unset), for
// eyeballing the artwork: STICKERD_SHEET=/tmp/builtin-sheet.png go test -run Sheet
func TestContactSheet(t *testing.T) {
	out := os.Getenv("STICKERD_SHEET")
	if out == "" {
		t.Skip("set STICKERD_SHEET=/path/sheet.png to write a contact sheet")
	}
	list := List()
	const cols, cell, label = 5, size + 16, 18
	rows := (len(list) + cols - 1) / cols
	sheet := image.NewRGBA(image.Rect(0, 0, cols*cell, rows*(cell+label)))
	for y := 0; y < sheet.Bounds().Dy(); y++ {
		for x := 0; x < sheet.Bounds().Dx(); x++ {
			v := uint8(236)
			if (x/16+y/16)%2 == 0 {
				v = 212
			}
			sheet.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	for i, s := range list {
		img := firstFrame(t, s)
		at := image.Pt((i%cols)*cell+8, (i/cols)*(cell+label)+8)
		draw.Draw(sheet, img.Bounds().Add(at), img, image.Point{}, draw.Over)
		d := font.Drawer{Dst: sheet, Src: image.Black, Face: basicfont.Face7x13,
			Dot: fixed.P(at.X, at.Y+size+label)}
		d.DrawString(s.Name)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, sheet); err != nil {
		t.Fatal(err)
	}
}

func firstFrame(t *testing.T, s Sticker) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(s.Name, &buf); err != nil {
		t.Fatal(err)
	}
	if s.Animated {
		g, err := gif.DecodeAll(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return g.Image[0]
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
