// Package vpx is a small, memory-safe cgo binding to libvpx's VP8 encoder
// and decoder, tuned for realtime video: one frame in, one frame out, no
// look-ahead. Images are tightly packed I420 planes owned by Go; the C side
// never keeps a Go pointer past a call, and every codec context is counted
// (Live) so that tests can prove that sessions free what they allocate.
package vpx
