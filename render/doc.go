// Package render is stickerd's render engine as a library: it takes a
// validated sticker spec, resolves and probes its assets, compiles the
// whole job to one ffmpeg invocation (built with ffmpeg-go), runs it with
// progress and cancellation, meets an output byte ceiling by rate control,
// and verifies the result. It does no networking: assets arrive as local
// files through a Resolver.
package render
