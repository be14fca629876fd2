package gateway

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
)

// trailingStore is a JobStore whose Get answers every job as it was at its
// first read, as a cache whose watch has not yet delivered the latest
// change does; Latest reads the store itself, as jobstore.Cached's does.
type trailingStore struct {
	*jobstore.Store

	mu   sync.Mutex
	seen map[jobs.ID]*jobs.Job
}

func (s *trailingStore) Get(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if j, ok := s.seen[id]; ok {
		return j.Clone(), nil
	}
	j, err := s.Store.Get(ctx, id)
	if err == nil {
		s.seen[id] = j.Clone()
	}
	return j, err
}

func (s *trailingStore) Latest(ctx context.Context, id jobs.ID) (*jobs.Job, error) {
	return s.Store.Get(ctx, id)
}

func withTrailingReads() option {
	return func(h *harness) {
		h.depFns = append(h.depFns, func(h *harness, d *Deps) {
			d.Jobs = &trailingStore{Store: h.store, seen: map[jobs.ID]*jobs.Job{}}
		})
	}
}

// TestOutput_NeverRefusedOnATrailingRecord is the CI failure of the
// README's try-it: the event stream said succeeded, and the download that
// followed at once answered 409 "the job is running", because the record
// it read came from the gateway's cache, whose watch had not yet delivered
// the change. A download (by API key or by signed link) reads the store.
func TestOutput_NeverRefusedOnATrailingRecord(t *testing.T) {
	h := newHarness(t, withTrailingReads())
	var v publicJob
	decode(t, h.submit(canvasSpec("trailing")), 202, &v)
	id := string(v.ID)
	decode(t, h.do("GET", "/v1/renders/"+id, nil), 200, &v) // the record read, and kept, while queued
	if v.Status != jobs.Queued {
		t.Fatalf("status %s", v.Status)
	}
	data := []byte("the whole output")
	j := h.succeed(id, "webm", data)

	t.Run("by API key", func(t *testing.T) {
		resp := h.do("GET", "/v1/renders/"+id+"/output", nil)
		if body := readAll(t, resp.Body); resp.StatusCode != http.StatusOK || body != string(data) {
			t.Fatalf("%d %q, want 200 and the output", resp.StatusCode, body)
		}
	})
	t.Run("by signed link", func(t *testing.T) {
		// The link names the succeeded attempt's fence, which the trailing
		// record does not have.
		link := h.gw.signer.link(j, time.Now())
		resp := h.do("GET", link[len(h.gw.signer.public):], nil)
		if body := readAll(t, resp.Body); resp.StatusCode != http.StatusOK || body != string(data) {
			t.Fatalf("%d %q, want 200 and the output", resp.StatusCode, body)
		}
	})
}
