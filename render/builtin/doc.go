// Package builtin is stickerd's built-in sticker catalogue. Every sticker is
// drawn procedurally at run time with antialiased vector paths on a
// transparent background, so the service ships without any downloaded art.
// Stills are encoded as PNG and animations as looping GIF; encoded bytes are
// cached in memory and can be materialised on disk with Path.
package builtin
