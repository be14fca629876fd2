// Package rtctest helps test and benchmark realtime sessions: it starts an
// edge on 127.0.0.1, builds loopback-only client options, paints synthetic
// I420 frames, and stamps a frame counter into the pixels (a row of
// blocks) that survives VP8 coding, so that a frame coming back can be
// matched with the one sent.
package rtctest
