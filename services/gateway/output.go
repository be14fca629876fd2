package gateway

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/render/spec"
)

// outputTypes are the media types of the output formats.
var outputTypes = map[string]string{
	spec.FormatMP4:  "video/mp4",
	spec.FormatWebM: "video/webm",
	spec.FormatGIF:  "image/gif",
	spec.FormatWebP: "image/webp",
	spec.FormatPNG:  "image/png", // snapshots: one frame
	spec.FormatJPG:  "image/jpeg",
}

// renderOutput is GET (and HEAD) /v1/renders/{id}/output: the file, with
// Range, If-Range and conditional requests (http.ServeContent); 409 until
// the job succeeded; 410 OUTPUT_GONE once it was deleted or expired. A
// signed link (signed.go) names the job as an API key does.
func (g *Gateway) renderOutput(c *gin.Context) {
	j, err := g.outputJob(c)
	if err != nil {
		g.fail(c, err)
		return
	}
	if j.OutputDeletedAt != nil { // deleted or expired (delete.go)
		g.fail(c, outputGone(j, nil))
		return
	}
	if j.Status != jobs.Succeeded || j.Output == nil || j.Output.Key == "" {
		g.fail(c, problem.New(errcode.Conflict, "the job is %s; its output can be downloaded once it has succeeded", j.Status))
		return
	}
	g.rememberResult(c.Request.Context(), j)
	obj, err := g.deps.Blobs.Open(c.Request.Context(), j.Output.Key)
	switch {
	case errors.Is(err, blob.ErrNotFound):
		g.fail(c, outputGone(j, err))
		return
	case err != nil:
		g.fail(c, errcode.Wrap(errcode.StorageFailed, err, "the output cannot be read now; try again"))
		return
	}
	defer obj.Close()
	ct, ok := outputTypes[j.Output.Format]
	if !ok {
		ct = "application/octet-stream"
	}
	h := c.Writer.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", `attachment; filename="`+string(j.ID)+"."+j.Output.Format+`"`)
	// A job's output never changes: its id is a strong validator for
	// If-Range and If-None-Match.
	h.Set("ETag", `"`+string(j.ID)+`"`)
	h.Set("Cache-Control", "private, max-age=86400")
	var modified time.Time
	if j.FinishedAt != nil {
		modified = *j.FinishedAt
	}
	http.ServeContent(c.Writer, c.Request, "", modified, obj)
}
