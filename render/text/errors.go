package text

import "errors"

// ErrEmpty is returned by Render when the text is empty or contains only
// whitespace and control characters.
var ErrEmpty = errors.New("text: empty text")

// ErrFontUnreadable is returned (wrapped with the path and cause) by Render
// when Style.Font is not a built-in name and the file it names cannot be read
// or parsed as a TrueType/OpenType font.
var ErrFontUnreadable = errors.New("text: font unreadable")

// ErrTooLong is returned (wrapped) by Render when the text has more than
// MaxRunes runes.
var ErrTooLong = errors.New("text: text too long")

// ErrBadStyle is returned (wrapped) by Render when a Style field is out of
// range: HeightPx not a finite number > 0, or StrokeWidthPx negative or not
// finite.
var ErrBadStyle = errors.New("text: invalid style")

// ErrTooLarge is returned (wrapped) by Render when the text cannot be fitted
// into MaxSide x MaxSide (and MaxPixels) without scaling its line height
// below 1 px.
var ErrTooLarge = errors.New("text: rendered text too large")
