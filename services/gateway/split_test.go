package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// TestRenders_SplitJobShowsItsPlanAndHidesItsTasks: a job split into
// tasks shows its plan; its tasks' records, which carry the tenant, are
// not the client's: GET, DELETE, the output and the listing never show
// them.
func TestRenders_SplitJobShowsItsPlanAndHidesItsTasks(t *testing.T) {
	h := newHarness(t)
	var v publicJob
	decode(t, h.submit(canvasSpec("split")), http.StatusAccepted, &v)
	var fence int64
	h.update(string(v.ID), func(j *jobs.Job) { fence = j.Revision; _ = j.Assign("w1", fence, time.Now()) })
	summary := json.RawMessage(`{"mode":"split","segments":2,"encoded_seconds":60,"copied_seconds":0,"workers":2}`)
	if _, err := h.store.UpdateWithTasks(h.ctx(), v.ID, func(j *jobs.Job) ([]*jobs.Job, error) {
		return j.SplitInto(fence, json.RawMessage(`{}`), summary, []float64{0.5, 0.5}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	part := jobs.PartID(v.ID, 0)
	h.update(string(part), func(j *jobs.Job) {
		_ = j.Assign("w2", j.Revision, time.Now())
		_ = j.Succeed(j.Fence, jobs.Output{Key: "parts/x", Format: ".ts", Bytes: 3}, time.Now())
	})

	var raw map[string]any
	decode(t, h.do("GET", "/v1/renders/"+string(v.ID), nil), http.StatusOK, &raw)
	plan, _ := json.Marshal(raw["plan"])
	var got, want any
	_ = json.Unmarshal(plan, &got)
	_ = json.Unmarshal(summary, &want)
	if string(mustJSON(t, got)) != string(mustJSON(t, want)) || raw["status"] != "running" {
		t.Fatalf("split job %v, want running with plan %s", raw, summary)
	}
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/renders/" + string(part)},
		{"GET", "/v1/renders/" + string(part) + "/output"},
		{"GET", "/v1/renders/" + string(part) + "/events"},
		{"DELETE", "/v1/renders/" + string(part)},
		{"DELETE", "/v1/renders/" + string(part) + "/output"},
	} {
		if resp := h.do(req.method, req.path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", req.method, req.path, resp.StatusCode)
		}
	}
	var list struct {
		Items []publicJob `json:"items"`
	}
	decode(t, h.do("GET", "/v1/renders", nil), http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].ID != v.ID {
		t.Fatalf("listing %v, want the job alone", list.Items)
	}
	if p, _ := h.store.Get(h.ctx(), part); p.CancelRequested {
		t.Fatal("a DELETE of a task's id reached the task")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
