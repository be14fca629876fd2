// Package vp8rtp rebuilds VP8 frames from RTP packets (RFC 7741) with no
// added delay: a frame is released the moment its last packet (the one with
// the marker bit) arrives and every packet of it is present, unlike a
// generic sample builder that waits for the next frame's first packet. Gaps
// wait a bounded time for a retransmission and are then skipped, with the
// next frame flagged so that the caller asks for a keyframe.
package vp8rtp
