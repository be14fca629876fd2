package gateway

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/services/batches"
)

// publicBatch is the batch as the API answers it.
type publicBatch struct {
	batches.View
	Rows       []batches.RowView `json:"rows"`
	NextCursor *string           `json:"next_cursor"`
}

func (h *harness) getBatch(id, query string) publicBatch {
	h.t.Helper()
	var b publicBatch
	decode(h.t, h.do("GET", "/v1/batches/"+id+query, nil), 200, &b)
	return b
}

// A batch with valid and invalid rows runs the valid ones and reports the
// others by row, with the same field paths a single render has.
func TestBatches_MixedRows(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	resp := h.postJSON("/v1/batches", `{"template_id":"`+tpl.ID+`","rows":[
	  {"name":"Ann"},{"name":7},{"name":"Bo","size":0.2},{"nmae":"x"},{"name":"Cy","audio":true}],
	  "metadata":{"campaign":"spring"}}`)
	var b batches.View
	decode(t, resp, http.StatusAccepted, &b)
	if resp.Header.Get("Location") != "/v1/batches/"+b.ID || b.Total != 5 || b.Accepted != 3 || len(b.Rejected) != 2 ||
		b.Status != batches.Running || b.TemplateID != tpl.ID || b.TemplateVersion != 1 ||
		b.Counts != (batches.Counts{Queued: 3, Rejected: 2}) {
		t.Fatalf("batch %+v", b)
	}
	if r := b.Rejected[0]; r.Row != 1 || r.Errors[0].Field != "variables.name" || !strings.Contains(r.Errors[0].Message, "must be a string") {
		t.Fatalf("rejected[0] %+v", r)
	}
	if r := b.Rejected[1]; r.Row != 3 {
		t.Fatalf("rejected[1] %+v", r)
	}
	got := h.getBatch(b.ID, "?limit=2")
	if len(got.Rows) != 2 || got.NextCursor == nil || got.Rows[1].Status != "rejected" || got.Rows[0].JobID == nil {
		t.Fatalf("first page %+v", got)
	}
	var ids []jobs.ID
	for cursor := ""; ; {
		page := h.getBatch(b.ID, "?limit=2"+cursor)
		for _, r := range page.Rows {
			if r.JobID != nil {
				ids = append(ids, *r.JobID)
			}
		}
		if page.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *page.NextCursor
	}
	if len(ids) != 3 {
		t.Fatalf("%d jobs in the rows", len(ids))
	}
	for _, id := range ids {
		j, err := h.store.Get(h.ctx(), id)
		if err != nil || j.BatchID != b.ID || j.TemplateID != tpl.ID || j.TemplateVersion != 1 || j.Status != jobs.Queued ||
			j.Metadata["campaign"] != "spring" || j.WebhookURL != "" {
			t.Fatalf("job %+v, %v", j, err)
		}
	}
	// The counts follow the jobs; the batch shows its end when the last
	// row ends.
	h.succeed(string(ids[0]), "mp4", []byte("a"))
	h.update(string(ids[1]), func(j *jobs.Job) {
		j.Status, j.Error = jobs.Failed, &jobs.Error{Code: "INTERNAL", Message: "/srv/secret"}
	})
	got = h.getBatch(b.ID, "")
	if got.Counts != (batches.Counts{Queued: 1, Succeeded: 1, Failed: 1, Rejected: 2}) || got.Status != batches.Running {
		t.Fatalf("counts %+v %s", got.Counts, got.Status)
	}
	if e := got.Rows[2].Error; e == nil || e.Message != internalJobMessage {
		t.Fatalf("a failed row's error %+v", got.Rows[2])
	}
	h.succeed(string(ids[2]), "mp4", []byte("c"))
	if got = h.getBatch(b.ID, ""); got.Status != batches.Completed || got.Counts.Unfinished() != 0 {
		t.Fatalf("ended batch %+v", got.View)
	}
	checkProblem(t, h.do("GET", "/v1/batches/bat_nothere", nil), 404, errcode.NotFound)
	checkProblem(t, h.do("GET", "/v1/batches/"+b.ID+"?limit=0", nil), 400, errcode.SpecInvalid)
}

func TestBatches_CSV(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	csv := "name,size,audio,bg\nAnn,0.2,true,\n\"Bo, Jr\",,FALSE,#FFFFFF\nCy,big,true,\n"
	resp := h.do("POST", "/v1/batches?template_id="+tpl.ID, strings.NewReader(csv), "Content-Type", "text/csv")
	var b batches.View
	decode(t, resp, http.StatusAccepted, &b)
	if b.Total != 3 || b.Accepted != 2 || len(b.Rejected) != 1 || b.Rejected[0].Row != 2 ||
		b.Rejected[0].Errors[0].Field != "variables.size" {
		t.Fatalf("batch %+v", b)
	}
	got := h.getBatch(b.ID, "")
	j, _ := h.store.Get(h.ctx(), *got.Rows[1].JobID)
	var sp struct {
		Source   struct{ Color string }
		Stickers []struct {
			Text string
			Size float64
		}
	}
	json.Unmarshal(j.Spec, &sp)
	if sp.Stickers[0].Text != "Hello Bo, Jr!" || sp.Stickers[0].Size != 0.1 || sp.Source.Color != "#FFFFFF" {
		t.Fatalf("row 1's spec %s", j.Spec)
	}
	tests := []struct {
		name, query, body, field string
	}{
		{"unknown column", "?template_id=" + tpl.ID, "name,nmae\na,b\n", "columns.nmae"},
		{"no template", "", "name\na\n", "template_id"},
		{"no rows", "?template_id=" + tpl.ID, "name\n", "rows"},
		{"bad version", "?template_id=" + tpl.ID + "&template_version=x", "name\na\n", "template_version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkProblem(t, h.do("POST", "/v1/batches"+tt.query, strings.NewReader(tt.body), "Content-Type", "text/csv"), 400, errcode.SpecInvalid)
			fieldsHave(t, p, tt.field, "")
		})
	}
	checkProblem(t, h.do("POST", "/v1/batches", strings.NewReader("x"), "Content-Type", "text/plain"), 415, errcode.SpecInvalid)
}

// 10,000 rows is the most a batch holds: one more is refused, JSON or CSV.
func TestBatches_TooManyRows(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	rows := strings.TrimSuffix(strings.Repeat(`{"name":"a"},`, batches.MaxRows+1), ",")
	p := checkProblem(t, h.postJSON("/v1/batches", `{"template_id":"`+tpl.ID+`","rows":[`+rows+`]}`), 400, errcode.SpecInvalid)
	fieldsHave(t, p, "rows", "at most 10000 rows, not 10001")
	csv := "name\n" + strings.Repeat("a\n", batches.MaxRows+1)
	p = checkProblem(t, h.do("POST", "/v1/batches?template_id="+tpl.ID, strings.NewReader(csv), "Content-Type", "text/csv"), 400, errcode.SpecInvalid)
	fieldsHave(t, p, "rows", "at most 10000 rows")
	if list, _, _ := h.store.List(h.ctx(), jobstore.ListOptions{Tenant: DefaultTenant}); len(list) != 0 {
		t.Fatalf("%d jobs made", len(list))
	}
}

// A batch takes one rate-limit token, and is admitted only when all its
// rows fit under the queue limit.
func TestBatches_RateLimitAndQueue(t *testing.T) {
	lim := &limiter{ok: true}
	depth := 90
	h := newHarness(t, withTemplates(), withDeps(func(d *Deps) {
		d.Limiter = lim
		d.QueueDepth = func() (int, error) { return depth, nil }
	}), withConfig(func(c *Config) { c.QueueSignalLag, c.QueueDepthLimit = 0, 100 }))
	tpl := h.createTemplate(greeting)
	rows := func(n int) string {
		return `{"template_id":"` + tpl.ID + `","rows":[` + strings.TrimSuffix(strings.Repeat(`{"name":"a"},`, n), ",") + `]}`
	}
	lim.keys = nil
	decode(t, h.postJSON("/v1/batches", rows(10)), http.StatusAccepted, nil)
	if len(lim.keys) != 1 {
		t.Fatalf("a batch of 10 took %d tokens", len(lim.keys))
	}
	resp := h.postJSON("/v1/batches", rows(11))
	checkProblem(t, resp, 503, errcode.QueueUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	depth = 0
	p := checkProblem(t, h.postJSON("/v1/batches", rows(101)), 400, errcode.SpecInvalid)
	fieldsHave(t, p, "rows", "cannot fit a queue of at most 100")
	lim.ok, lim.retry = false, 2*time.Second
	checkProblem(t, h.postJSON("/v1/batches", rows(1)), 429, errcode.RateLimited)
}

// DELETE cancels every row that has not ended; the batch then ends
// canceled, and a second DELETE is a conflict.
func TestBatches_Cancel(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	var b batches.View
	decode(t, h.postJSON("/v1/batches", `{"template_id":"`+tpl.ID+`","rows":[{"name":"a"},{"name":"b"},{"name":"c"}]}`), 202, &b)
	rows := h.getBatch(b.ID, "").Rows
	h.succeed(string(*rows[0].JobID), "mp4", []byte("x"))
	h.update(string(*rows[1].JobID), func(j *jobs.Job) {
		now := time.Now().UTC()
		w := "worker-1"
		j.Status, j.StartedAt, j.Worker, j.Attempts = jobs.Running, &now, &w, 1
	})
	var got batches.View
	decode(t, h.do("DELETE", "/v1/batches/"+b.ID, nil), http.StatusAccepted, &got)
	if got.Status != "canceling" || got.Counts != (batches.Counts{Succeeded: 1, Running: 1, Canceled: 1}) {
		t.Fatalf("after cancel %+v", got)
	}
	if j, _ := h.store.Get(h.ctx(), *rows[1].JobID); !j.CancelRequested {
		t.Fatal("the running row was not asked to stop")
	}
	h.update(string(*rows[1].JobID), func(j *jobs.Job) { j.Status = jobs.Canceled })
	if got := h.getBatch(b.ID, ""); got.Status != batches.Canceled {
		t.Fatalf("status %s", got.Status)
	}
	checkProblem(t, h.do("DELETE", "/v1/batches/"+b.ID, nil), 409, errcode.Conflict)
	checkProblem(t, h.do("DELETE", "/v1/batches/bat_nothere", nil), 404, errcode.NotFound)
}

// The event stream shows the batch at once, each row as it ends, and the
// batch's end last.
func TestBatches_Events(t *testing.T) {
	h := newHarness(t, withTemplates())
	tpl := h.createTemplate(greeting)
	var b batches.View
	decode(t, h.postJSON("/v1/batches", `{"template_id":"`+tpl.ID+`","rows":[{"name":"a"},{},{"name":"c"}]}`), 202, &b)
	rows := h.getBatch(b.ID, "").Rows
	ch := openBatchEvents(t, h, b.ID)
	first := next(t, ch)
	var v batches.View
	json.Unmarshal([]byte(first.data), &v)
	if first.name != "status" || v.Counts.Queued != 2 || v.Counts.Rejected != 1 {
		t.Fatalf("first event %+v", first)
	}
	h.succeed(string(*rows[0].JobID), "mp4", []byte("x"))
	h.update(string(*rows[2].JobID), func(j *jobs.Job) {
		j.Status, j.Error = jobs.Failed, &jobs.Error{Code: "FFMPEG_FAILED", Message: "boom"}
	})
	var rowEvents []batches.RowView
	var last batches.View
	for ev := range ch {
		switch ev.name {
		case "row":
			var r batches.RowView
			json.Unmarshal([]byte(ev.data), &r)
			rowEvents = append(rowEvents, r)
		case "status":
			json.Unmarshal([]byte(ev.data), &last)
		}
	}
	if len(rowEvents) != 2 || rowEvents[0].Row != 0 || rowEvents[0].Status != "succeeded" ||
		rowEvents[1].Row != 2 || rowEvents[1].Error == nil || rowEvents[1].Error.Code != "FFMPEG_FAILED" {
		t.Fatalf("row events %+v", rowEvents)
	}
	if last.Status != batches.Completed || last.Counts != (batches.Counts{Succeeded: 1, Failed: 1, Rejected: 1}) {
		t.Fatalf("last status %+v", last)
	}
}

func openBatchEvents(t *testing.T, h *harness, id string) <-chan sseEvent {
	t.Helper()
	resp := h.do("GET", "/v1/batches/"+id+"/events", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d: %s", resp.StatusCode, readAll(t, resp.Body))
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			switch line := sc.Text(); {
			case line == "":
				if ev != (sseEvent{}) {
					ch <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = true
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}
