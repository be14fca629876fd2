// Package rtc is the Go client of stickerd's realtime sessions. Connect
// offers a WebRTC session to a gateway or edge over WHIP-style signaling,
// SendFrame encodes I420 frames as VP8 (libvpx) onto the outgoing track,
// and the stickered frames that come back are decoded and handed to
// Callbacks.OnFrame. AddSticker, UpdateSticker, RemoveSticker and Clear
// drive the stickers over the "control" data channel and wait for the
// edge's ack. Callbacks follow LiveKit's style: plain functions, called on
// the session's own goroutines.
package rtc
