// Package motion turns a sticker's keyframes and animation preset into
// per-property tracks, evaluates them at any time, and writes the same
// curves as ffmpeg expressions, so that what the tests compute in Go is
// exactly what ffmpeg draws.
package motion
