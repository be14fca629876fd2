// Package reference is the reference job the benchmarks and the GPU
// goldens measure: a 1280×720 30 fps source with audio, a keyframed PNG,
// a looping animated GIF and a line of stroked text, to mp4; and the
// files it reads.
package reference
