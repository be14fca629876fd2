package builtin

import "errors"

// ErrUnknown is returned (wrapped with the requested name) by Lookup, Encode
// and Path when the catalogue has no sticker of that name.
var ErrUnknown = errors.New("builtin: unknown sticker")
