// Package render is stickerd's render engine as a library: it takes a
// validated sticker spec, resolves and probes its assets, plans how to
// cut the render, compiles each encode to one ffmpeg invocation (built
// with ffmpeg-go), runs it with progress and cancellation, meets an output
// byte ceiling by rate control, and verifies the result. It does no
// networking: assets arrive as local files through a Resolver.
//
// A plan (Engine.Plan) is smart when stickers leave stretches of an H.264
// MP4 source untouched: those are copied packet for packet and only the
// GOPs around stickers are encoded, with the source's own coding
// parameters. A long encode is split into parts for several workers.
// RenderPart renders one part, Stitch joins parts and copies and verifies
// the result; Engine.Render takes the same steps on one machine, and
// renders whole (one ffmpeg) whatever cannot be smart.
//
// A png or jpg output is a snapshot (snapshot.go): the one frame shown at
// output.time, rendered as a one-frame part window, the source opened
// with an accurate seek to that frame rather than decoded from the start.
package render
