// Package text rasterises user text stickers to PNG-ready NRGBA images in pure
// Go, so that user-supplied text never has to be escaped into an ffmpeg filter
// graph. It ships three embedded fonts (Go Regular, Go Mono and DejaVu Serif),
// accepts uploaded TTF/OTF fonts, falls back per rune between fonts, draws
// colour emoji from a Noto Color Emoji (CBDT/CBLC) font when one is installed,
// and supports an outline stroke and a background box.
package text
