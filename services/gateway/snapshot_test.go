package gateway

import (
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

// TestOutput_SnapshotTypes: a png or jpg snapshot downloads with its
// picture's media type and extension.
func TestOutput_SnapshotTypes(t *testing.T) {
	h := newHarness(t)
	tests := []struct{ format, contentType string }{
		{"png", "image/png"},
		{"jpg", "image/jpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			var v publicJob
			decode(t, h.submit(`{"source":{"color":"#102030","width":320,"height":240,"duration":2,"fps":10},
			  "stickers":[{"type":"image","builtin":"heart"}],"output":{"format":"`+tt.format+`","time":1.5}}`), 202, &v)
			id := string(v.ID)
			h.succeed(id, tt.format, []byte("picture"))
			resp := h.do("GET", "/v1/renders/"+id+"/output", nil)
			if body := readAll(t, resp.Body); resp.StatusCode != 200 || body != "picture" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type %q, want %q", got, tt.contentType)
			}
			if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename="`+id+`.`+tt.format+`"` {
				t.Errorf("Content-Disposition %q", got)
			}
		})
	}
	t.Run("a time past a canvas's end is refused at submit", func(t *testing.T) {
		checkProblem(t, h.submit(`{"source":{"color":"#102030","width":320,"height":240,"duration":2,"fps":10},
		  "stickers":[{"type":"image","builtin":"heart"}],"output":{"format":"png","time":2}}`), 400, errcode.SpecInvalid)
	})
}
