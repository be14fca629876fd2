package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/proto/workerpb"
)

func TestEdges_ReportExpireAndPlace(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	s, err := New(DefaultConfig(), Deps{Store: jobstore.NewMemory(), Clock: fake}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(s, nil)
	if _, err := srv.ReportEdge(context.Background(), &workerpb.EdgeReport{EdgeId: "a", Url: "http://a"}); err == nil {
		t.Fatal("a standby accepted an edge report")
	}
	s.mu.Lock()
	s.leading = true
	s.mu.Unlock()
	for _, r := range []*workerpb.EdgeReport{
		{EdgeId: "a", Url: "http://a", Sessions: 8, MaxSessions: 10},
		{EdgeId: "b", Url: "http://b", Sessions: 2, MaxSessions: 10},
		{EdgeId: "full", Url: "http://full", Sessions: 4, MaxSessions: 4},
	} {
		if _, err := srv.ReportEdge(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if es := s.Edges(); len(es) != 3 {
		t.Fatalf("live edges %+v, want a, b and full", es)
	}
	fake.Advance(3 * time.Second)
	srv.ReportEdge(context.Background(), &workerpb.EdgeReport{EdgeId: "a", Url: "http://a", Sessions: 8, MaxSessions: 10})
	fake.Advance(4 * time.Second) // b and full stop reporting: past TTL+grace (6s)
	es := s.Edges()
	if len(es) != 1 || es[0].ID != "a" {
		t.Fatalf("live edges %+v, want only a", es)
	}
	if _, err := srv.ReportEdge(context.Background(), &workerpb.EdgeReport{EdgeId: "x"}); err == nil {
		t.Fatal("a report without url accepted")
	}
}
