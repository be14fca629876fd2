// Package media probes user-supplied files (videos, still and animated
// images) with ffprobe and Go's header decoders, and enforces the limits on
// bytes, dimensions, duration and frame count before anything decodes a
// frame, so that an unreadable file or a decompression bomb gets a typed
// error instead of exhausting the machine.
package media
