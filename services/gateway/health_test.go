package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/health"
)

// /readyz is on the public port: a failed check is named, but its error,
// which holds internal addresses, is only logged.
func TestReadyz_HidesCheckErrors(t *testing.T) {
	down := errors.New("dial tcp 10.0.4.17:2379: connect: connection refused")
	h := newHarness(t, withDeps(func(d *Deps) {
		d.Ready = []health.Check{{Name: "state_store", Fn: func(context.Context) error { return down }}}
	}))
	resp := h.do("GET", "/readyz", nil)
	body := readAll(t, resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(body, `"state_store":"unavailable"`) {
		t.Fatalf("readyz %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "10.0.4.17") {
		t.Fatalf("readyz shows the check's error: %s", body)
	}
}
