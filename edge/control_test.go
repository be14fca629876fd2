package edge_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/sdk/go/rtc"
	"github.com/stickerd/stickerd/sdk/go/rtc/rtctest"
)

func TestControl_ErrorsKeepTheSessionAlive(t *testing.T) {
	url, _ := rtctest.StartEdgeWith(t, rtctest.LoopbackConfig(), edgeAssets(map[string][]byte{
		"ast_green": solidPNG(16, 16, green), "ast_text": []byte("just some text, not an image")}))
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.s.AddSticker(ctx, "ok", rtc.Sticker{Type: "image", Builtin: "star"}); err != nil {
		t.Fatal(err)
	}
	big := `{"op":"add","id":"big","sticker":{"type":"text","text":"` + strings.Repeat("x", 20<<10) + `"}}`
	tests := []struct {
		name, msg   string
		code, field string
		message     string
	}{
		{"unknown op", `{"op":"dance","id":"ok"}`, "SPEC_INVALID", "op", `unknown op "dance"`},
		{"missing op", `{"id":"ok"}`, "SPEC_INVALID", "op", "is required"},
		{"bad JSON", `{"op":"add",`, "SPEC_INVALID", "", "malformed JSON"},
		{"not an object", `[1,2,3]`, "SPEC_INVALID", "", "malformed JSON"},
		{"oversized message", big, "SPEC_INVALID", "", "at most 16384"},
		{"add without id", `{"op":"add","sticker":{"type":"image","builtin":"heart"}}`, "SPEC_INVALID", "id", "is required"},
		{"add without sticker", `{"op":"add","id":"s"}`, "SPEC_INVALID", "sticker", "is required"},
		{"x out of range", `{"op":"add","id":"s","sticker":{"type":"image","builtin":"heart","x":2}}`, "SPEC_INVALID", "sticker.x", "between 0 and 1"},
		{"width zero", `{"op":"add","id":"s","sticker":{"type":"image","builtin":"heart","width":0}}`, "SPEC_INVALID", "sticker.width", "greater than 0"},
		{"unknown builtin", `{"op":"add","id":"s","sticker":{"type":"image","builtin":"unicorn"}}`, "SPEC_INVALID", "sticker.builtin", "unicorn"},
		{"unknown field", `{"op":"add","id":"s","sticker":{"type":"image","builtin":"heart","colour":"#fff"}}`, "SPEC_INVALID", "sticker.colour", "unknown field"},
		{"start is offline only", `{"op":"add","id":"s","sticker":{"type":"image","builtin":"heart","start":1}}`, "SPEC_INVALID", "sticker.start", "no start"},
		{"url is offline only", `{"op":"add","id":"s","sticker":{"type":"image","url":"https://example.com/a.png"}}`, "SPEC_INVALID", "sticker.url", "asset_id"},
		{"wrong type", `{"op":"add","id":"s","sticker":{"type":"image","builtin":"heart","x":"left"}}`, "SPEC_INVALID", "sticker.x", ""},
		{"text without text", `{"op":"add","id":"s","sticker":{"type":"text"}}`, "SPEC_INVALID", "sticker.text", "is required"},
		{"uploaded font", `{"op":"add","id":"s","sticker":{"type":"text","text":"hi","font":"ast_font1"}}`, "SPEC_INVALID", "sticker.font", "uploaded fonts"},
		{"missing asset", `{"op":"add","id":"s","sticker":{"type":"image","asset_id":"ast_missing"}}`, "ASSET_NOT_FOUND", "", "not found"},
		{"asset is not an image", `{"op":"add","id":"s","sticker":{"type":"image","asset_id":"ast_text"}}`, "ASSET_UNSUPPORTED", "", "cannot be decoded"},
		{"update an unknown sticker", `{"op":"update","id":"nope","x":0.5}`, "SPEC_INVALID", "", `no sticker with id "nope"`},
		{"update a fixed field", `{"op":"update","id":"ok","builtin":"heart"}`, "SPEC_INVALID", "builtin", "not updatable"},
		{"update out of range", `{"op":"update","id":"ok","opacity":3}`, "SPEC_INVALID", "opacity", "between 0 and 1"},
		{"update nothing", `{"op":"update","id":"ok"}`, "SPEC_INVALID", "", "at least one"},
		{"remove an unknown sticker", `{"op":"remove","id":"nope"}`, "SPEC_INVALID", "", "no sticker"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := c.s.SendControl(ctx, []byte(tc.msg))
			if err != nil {
				t.Fatal(err)
			}
			if r.Op != "error" || r.Code != tc.code || r.Field != tc.field || !strings.Contains(r.Message, tc.message) {
				t.Fatalf("reply %+v, want error %s on %q with %q", r, tc.code, tc.field, tc.message)
			}
		})
	}
	// The session survived all of it: ops still work and frames still flow.
	if err := c.s.UpdateSticker(ctx, "ok", map[string]any{"x": 0.2, "rotation": 45}); err != nil {
		t.Fatal(err)
	}
	var ce *rtc.ControlError
	if err := c.s.RemoveSticker(ctx, "missing"); !errors.As(err, &ce) || ce.Code != "SPEC_INVALID" {
		t.Fatalf("RemoveSticker(missing) = %v", err)
	}
	if err := c.s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	c.drain()
	c.waitFor(2*time.Second, "frames after the errors", func(r received) bool { return r.ok })
}

func TestControl_StatsArriveEverySecond(t *testing.T) {
	url, _ := rtctest.StartEdge(t, rtctest.LoopbackConfig())
	c := connect(t, url, 320, 240, func(f *rtc.Frame, n int) { rtctest.Gradient(f, n) })
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		c.drain()
		time.Sleep(100 * time.Millisecond)
		c.mu.Lock()
		stats := append([]rtc.Stats(nil), c.stats...)
		c.mu.Unlock()
		if len(stats) >= 2 {
			s := stats[len(stats)-1]
			if s.FPS < 15 || s.LatencyP50 <= 0 || s.LatencyP95 < s.LatencyP50 {
				t.Fatalf("stats %+v", s)
			}
			return
		}
	}
	t.Fatal("fewer than 2 stats messages in 4 s")
}
