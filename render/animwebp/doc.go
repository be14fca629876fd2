// Package animwebp decodes animated (and still) WebP files into fully
// composited canvas frames and re-encodes them as APNG, because the ffmpeg
// 5.1 shipped with Debian bookworm cannot decode animated WebP but does read
// APNG. Decoding is bounded by Limits, which are checked against the
// container headers before any pixel buffer is allocated.
package animwebp
