package render

import (
	"errors"

	"github.com/stickerd/stickerd/render/animwebp"
	"github.com/stickerd/stickerd/render/text"
)

func isFontErr(err error) bool { return errors.Is(err, text.ErrFontUnreadable) }

func isTooLarge(err error) bool { return errors.Is(err, animwebp.ErrTooLarge) }
