package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	down := errors.New("etcd: no leader")
	h := Handler(Check{"etcd", func(context.Context) error { return down }}, Check{"kafka", func(context.Context) error { return nil }})
	for _, tt := range []struct {
		path string
		code int
		has  string
	}{
		{"/healthz", 200, `"ok"`},
		{"/readyz", 503, "no leader"},
		{"/metrics", 200, "go_goroutines"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.has) {
			t.Errorf("%s: %d %s", tt.path, rec.Code, rec.Body.String())
		}
	}
}
