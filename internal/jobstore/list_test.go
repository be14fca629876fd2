package jobstore

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// seed creates n jobs of tenant, one second apart, and returns their ids
// newest first; every third one is running.
func seed(t *testing.T, s *Store, tenant string, n int) (all, running []jobs.ID) {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		j := newJob(tenant, base.Add(time.Duration(i)*time.Second))
		if i%3 == 0 {
			j.Status = jobs.Running
			running = append(running, j.ID)
		}
		mustCreate(t, s, j)
		all = append(all, j.ID)
	}
	slices.Reverse(all)
	slices.Reverse(running)
	return all, running
}

// listAll follows the cursors and returns the ids and page sizes.
func listAll(t *testing.T, s *Store, o ListOptions) (ids []jobs.ID, pages []int) {
	t.Helper()
	for {
		page, next, err := s.List(testCtx(t), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			if j.Tenant != o.Tenant || (o.Status != "" && j.Status != o.Status) || j.Revision == 0 {
				t.Fatalf("listed %+v for %+v", j, o)
			}
			ids = append(ids, j.ID)
		}
		pages = append(pages, len(page))
		if next == "" {
			return ids, pages
		}
		if len(pages) > 100 {
			t.Fatal("cursor never ends")
		}
		o.Cursor = next
	}
}

func TestStore_ListPagesNewestFirst(t *testing.T) {
	s := newStore(t)
	acme, acmeRunning := seed(t, s, "acme", 45)
	other, _ := seed(t, s, "acme/jobs", 4) // would share acme's index prefix unescaped
	few, _ := seed(t, s, "few", 20)
	tests := []struct {
		name      string
		opts      ListOptions
		wantIDs   []jobs.ID
		wantPages []int
	}{
		{"default limit", ListOptions{Tenant: "acme"}, acme, []int{20, 20, 5}},
		{"limit 7", ListOptions{Tenant: "acme", Limit: 7}, acme, []int{7, 7, 7, 7, 7, 7, 3}},
		{"limit above max", ListOptions{Tenant: "acme", Limit: 1000}, acme, []int{45}},
		{"status filter", ListOptions{Tenant: "acme", Status: jobs.Running, Limit: 4}, acmeRunning, []int{4, 4, 4, 3}},
		{"tenant isolation", ListOptions{Tenant: "acme/jobs"}, other, []int{4}},
		{"exact page ends", ListOptions{Tenant: "few"}, few, []int{20}},
		{"no jobs", ListOptions{Tenant: "nobody"}, nil, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, pages := listAll(t, s, tt.opts)
			if !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("ids = %v\nwant %v", ids, tt.wantIDs)
			}
			if !slices.Equal(pages, tt.wantPages) {
				t.Errorf("pages = %v, want %v", pages, tt.wantPages)
			}
		})
	}
	t.Run("scan limit bounds a filtered page", func(t *testing.T) {
		small := *s
		small.listScanLimit = 10
		ids, pages := listAll(t, &small, ListOptions{Tenant: "acme", Status: jobs.Running, Limit: 100})
		if !slices.Equal(ids, acmeRunning) || len(pages) != 5 {
			t.Fatalf("ids %v pages %v", ids, pages)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"!!", encodeCursor("../x"), encodeCursor("123_x")} {
			if _, _, err := s.List(testCtx(t), ListOptions{Tenant: "acme", Cursor: c}); !errors.Is(err, ErrInvalid) {
				t.Errorf("cursor %q: err = %v", c, err)
			}
		}
	})
}

func TestStore_ScanVisitsEveryJobOnce(t *testing.T) {
	s := newStore(t)
	s.scanPageSize = 7
	a, _ := seed(t, s, "a", 12)
	b, _ := seed(t, s, "b", 11)
	want := append(a, b...)
	slices.Sort(want)
	var got []jobs.ID
	if err := s.Scan(testCtx(t), func(j *jobs.Job) error { got = append(got, j.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("scan visited %d in order %v\nwant %v", len(got), got, want)
	}
	stop := errors.New("stop")
	n := 0
	err := s.Scan(testCtx(t), func(*jobs.Job) error {
		if n++; n == 9 {
			return stop
		}
		return nil
	})
	if err != stop || n != 9 {
		t.Fatalf("scan after fn error: %v after %d", err, n)
	}
}

func TestIndexSuffix_SortsNewestFirst(t *testing.T) {
	base := time.Unix(1700000000, 0)
	older := indexSuffix(base, "job_b")
	newer := indexSuffix(base.Add(time.Nanosecond), "job_a")
	tie := indexSuffix(base, "job_c")
	if !(newer < older && older < tie) {
		t.Fatalf("order: newer %s older %s tie %s", newer, older, tie)
	}
	if got, err := decodeCursor(encodeCursor(older)); err != nil || got != older {
		t.Fatalf("cursor round trip: %q %v", got, err)
	}
}
