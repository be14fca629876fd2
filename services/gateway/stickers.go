package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/render/builtin"
)

// catalogueEntry is a built-in sticker as GET /v1/stickers lists it: the
// catalogue's fields and where to fetch its picture.
type catalogueEntry struct {
	builtin.Sticker
	PreviewURL string `json:"preview_url"`
}

// listStickers is GET /v1/stickers.
func (g *Gateway) listStickers(c *gin.Context) {
	list := builtin.List()
	items := make([]catalogueEntry, len(list))
	for i, s := range list {
		items[i] = catalogueEntry{Sticker: s, PreviewURL: "/v1/stickers/" + s.Name}
	}
	c.Header("Cache-Control", "public, max-age=3600")
	c.JSON(http.StatusOK, gin.H{"items": items})
}

// getSticker is GET /v1/stickers/{name}: the sticker's PNG (still) or GIF
// (animated), the very file a render uses.
func (g *Gateway) getSticker(c *gin.Context) {
	name := c.Param("name")
	s, err := builtin.Lookup(name)
	if errors.Is(err, builtin.ErrUnknown) {
		g.fail(c, problem.New(errcode.NotFound, "no built-in sticker %q; GET /v1/stickers lists them", name))
		return
	}
	if err != nil {
		g.fail(c, err)
		return
	}
	var b bytes.Buffer
	if err := builtin.Encode(s.Name, &b); err != nil {
		g.fail(c, err)
		return
	}
	sum := sha256.Sum256(b.Bytes())
	h := c.Writer.Header()
	h.Set("Content-Type", "image/"+s.Format)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	h.Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(b.Bytes()))
}
