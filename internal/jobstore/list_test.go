package jobstore

import (
	"testing"
	"time"
)

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
