package gateway

import (
	"net/http"
	"testing"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/services/assets/assetstest"
)

func keyed(c *Config) {
	c.APIKeys = map[string]string{"sk_acme": "acme", "sk_globex": "globex"}
}

// DELETE /v1/renders/{id}/output: 204, the record stays, the download
// answers 410 OUTPUT_GONE, the file is gone; another tenant's job is 404,
// a job that has not succeeded 409; a second DELETE is 204 again.
func TestDelete_Output(t *testing.T) {
	h := newHarness(t, withConfig(keyed))
	acme, globex := []string{"Authorization", "Bearer sk_acme"}, []string{"Authorization", "Bearer sk_globex"}
	var v publicJob
	decode(t, h.submit(canvasSpec("del"), acme...), 202, &v)
	id := string(v.ID)
	url := "/v1/renders/" + id + "/output"
	checkProblem(t, h.do("DELETE", url, nil, acme...), http.StatusConflict, errcode.Conflict)
	j := h.succeed(id, "mp4", []byte("an mp4"))
	checkProblem(t, h.do("DELETE", url, nil, globex...), http.StatusNotFound, errcode.NotFound)
	checkProblem(t, h.do("DELETE", "/v1/renders/job_nope/output", nil, acme...), http.StatusNotFound, errcode.NotFound)
	if resp := h.do("GET", url, nil, acme...); resp.StatusCode != 200 {
		t.Fatalf("another tenant's DELETE touched the output: %d", resp.StatusCode)
	}
	for range 2 {
		if resp := h.do("DELETE", url, nil, acme...); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
	}
	checkProblem(t, h.do("GET", url, nil, acme...), http.StatusGone, errcode.OutputGone)
	if resp := h.do("HEAD", url, nil, acme...); resp.StatusCode != http.StatusGone {
		t.Fatalf("HEAD: %d", resp.StatusCode)
	}
	var after publicJob
	decode(t, h.do("GET", "/v1/renders/"+id, nil, acme...), 200, &after)
	if after.Status != jobs.Succeeded {
		t.Fatalf("the record changed status: %+v", after)
	}
	rec, err := h.store.Get(h.ctx(), jobs.ID(id))
	if err != nil || rec.OutputDeletedAt == nil || rec.Output.Key != "" {
		t.Fatalf("record %+v %v", rec, err)
	}
	if _, err := h.blobs.Open(h.ctx(), j.Output.Key); err == nil {
		t.Fatal("the file is still stored")
	}
}

// DELETE /v1/assets/{id}: 204 and the asset is gone (GET 404, a render
// naming it ASSET_NOT_FOUND); another tenant's is 404; an asset a queued
// job uses is 409 until the job ends.
func TestDelete_Asset(t *testing.T) {
	h := newHarness(t, withConfig(keyed))
	acme, globex := []string{"Authorization", "Bearer sk_acme"}, []string{"Authorization", "Bearer sk_globex"}
	png := assetstest.PNG(t, 16, 16)
	a := h.upload(png, append([]string{"Content-Type", "image/png"}, acme...)...)
	url := "/v1/assets/" + a.ID
	checkProblem(t, h.do("DELETE", url, nil, globex...), http.StatusNotFound, errcode.AssetNotFound)
	spec := `{"source":{"color":"#102030","width":320,"height":240,"duration":1},"stickers":[{"type":"image","asset_id":"` + a.ID + `"}]}`
	var v publicJob
	decode(t, h.submit(spec, acme...), 202, &v)
	checkProblem(t, h.do("DELETE", url, nil, acme...), http.StatusConflict, errcode.Conflict)
	h.update(string(v.ID), func(j *jobs.Job) { j.Status = jobs.Canceled })
	if resp := h.do("DELETE", url, nil, acme...); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	checkProblem(t, h.do("GET", url, nil, acme...), http.StatusNotFound, errcode.AssetNotFound)
	checkProblem(t, h.do("DELETE", url, nil, acme...), http.StatusNotFound, errcode.AssetNotFound)
	checkProblem(t, h.submit(spec, acme...), http.StatusUnprocessableEntity, errcode.AssetNotFound)
	if _, err := h.blobs.Open(h.ctx(), blob.AssetKey("acme", a.ID)); err == nil {
		t.Fatal("the bytes are still stored")
	}
}
