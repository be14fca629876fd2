package gateway

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/services/assets"
)

// multipartSlack is what a multipart body may carry besides the file:
// boundaries, part headers, small form fields.
const multipartSlack = 1 << 20

// uploadAsset stores a file sent as the multipart field "file" or as the
// raw body; 201 with the asset, or 200 with the tenant's existing asset
// when it already uploaded the same bytes.
func (g *Gateway) uploadAsset(c *gin.Context) {
	limit := g.cfg.MaxUploadBytes
	if c.Request.ContentLength > limit+multipartSlack {
		g.fail(c, problem.New(errcode.AssetTooLarge, "the upload is %d bytes, over the limit of %d", c.Request.ContentLength, limit))
		return
	}
	ct := c.GetHeader("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	var (
		a       *assets.Asset
		created bool
		err     error
	)
	if mt == "multipart/form-data" {
		a, created, err = g.uploadMultipart(c, params["boundary"], limit)
	} else {
		body := http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		a, created, err = g.deps.Assets.Upload(c.Request.Context(), tenantOf(c), ct, body, limit)
	}
	if err != nil {
		g.fail(c, uploadFault(err, limit))
		return
	}
	c.Header("Location", "/v1/assets/"+a.ID)
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	c.JSON(status, viewAsset(a))
}

func (g *Gateway) uploadMultipart(c *gin.Context, boundary string, limit int64) (*assets.Asset, bool, error) {
	if boundary == "" {
		return nil, false, problem.New(errcode.SpecInvalid, "the multipart Content-Type has no boundary")
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, limit+multipartSlack)
	mr := multipart.NewReader(body, boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			f := problem.New(errcode.SpecInvalid, "the multipart body has no \"file\" field")
			f.Fields = []errcode.FieldError{{Field: "file", Message: "required"}}
			return nil, false, f
		}
		if err != nil {
			return nil, false, asUploadRead(err)
		}
		if part.FormName() != "file" {
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, false, asUploadRead(err)
			}
			continue
		}
		return g.deps.Assets.Upload(c.Request.Context(), tenantOf(c), part.Header.Get("Content-Type"), part, limit)
	}
}

func asUploadRead(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return &problem.Error{Code: errcode.SpecInvalid, Detail: "the multipart body is malformed: " + err.Error(), Cause: err}
}

// uploadFault says why an upload failed: over the limit (413), unreadable
// (400), the blob store full (507 STORAGE_FAILED) or unreachable (503
// STORAGE_FAILED with Retry-After), or what the asset store said.
func uploadFault(err error, limit int64) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &problem.Error{Code: errcode.AssetTooLarge, Detail: fmt.Sprintf("the upload is over the limit of %d bytes", limit), Cause: err}
	case errors.Is(err, assets.ErrUploadRead):
		return &problem.Error{Code: errcode.SpecInvalid, Detail: "the upload could not be read to its end", Cause: err}
	case errors.Is(err, blob.ErrFull):
		return (&problem.Error{Code: errcode.StorageFailed, Detail: "the blob store is out of space", Cause: err}).
			WithStatus(http.StatusInsufficientStorage)
	case errors.Is(err, blob.ErrUnavailable):
		return &problem.Error{Code: errcode.StorageFailed, Detail: "the blob store is unavailable; try again", Cause: err}
	}
	return err
}

// getAsset answers the tenant's asset; another tenant's is 404.
func (g *Gateway) getAsset(c *gin.Context) {
	ctx, cancel := g.storeCtx(c)
	defer cancel()
	a, err := g.deps.Assets.Get(ctx, tenantOf(c), c.Param("id"))
	if err != nil {
		g.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewAsset(a))
}
