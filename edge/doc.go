// Package edge is stickerd's realtime node. A client offers a WebRTC
// session over WHIP-style HTTP signaling (POST /v1/rtc/sessions), sends its
// camera as VP8, and gets the same video back with stickers composited on
// every frame; a data channel labelled "control" adds, moves and removes the
// stickers live. Each frame is decoded with libvpx, the stickers are
// alpha-blended straight into the I420 planes, and the result is encoded
// again in realtime CBR mode at the bitrate that congestion control (GCC)
// allows. When processing falls behind, frames are dropped, never queued.
package edge
