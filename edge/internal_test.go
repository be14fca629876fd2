package edge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/errcode"
)

func TestMailbox_LatestWinsAndCountsDrops(t *testing.T) {
	m := newMailbox()
	a, b, c := m.get(), m.get(), m.get()
	a.ts, b.ts, c.ts = 1, 2, 3
	if m.offer(a) {
		t.Fatal("the first frame replaced nothing")
	}
	if !m.offer(b) { // the compositor is busy: a is dropped, not queued
		t.Fatal("b did not replace a")
	}
	got, ok := m.take(context.Background())
	if !ok || got.ts != 2 {
		t.Fatalf("took %v %v, want frame 2", got, ok)
	}
	m.put(got)
	if m.offer(c) {
		t.Fatal("c replaced a frame that was taken")
	}
	if n := len(m.free); n != 2 { // a came back when dropped, b when put
		t.Fatalf("%d free buffers, want 2", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.take(ctx)
	cancel()
	if _, ok := m.take(ctx); ok {
		t.Fatal("take after cancel returned a frame")
	}
}

func TestSource_AnimatedGIFFollowsWallTime(t *testing.T) {
	pal := color.Palette{color.NRGBA{}, color.NRGBA{R: 255, A: 255}, color.NRGBA{B: 255, A: 255}}
	frame := func(idx uint8) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 4, 4), pal)
		for i := range p.Pix {
			p.Pix[i] = idx
		}
		return p
	}
	var buf bytes.Buffer
	g := &gif.GIF{Image: []*image.Paletted{frame(1), frame(2)}, Delay: []int{10, 20},
		Disposal: []byte{gif.DisposalBackground, gif.DisposalBackground}}
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	e := &Edge{cfg: DefaultConfig()}
	tests := []struct {
		loop bool
		t    float64
		want string
	}{
		{true, 0.05, "red"}, {true, 0.15, "blue"}, {true, 0.35, "red"}, {true, 0.45, "blue"},
		{false, 0.05, "red"}, {false, 5, "blue"},
	}
	for _, tc := range tests {
		s, err := e.decodeSource(buf.Bytes(), tc.loop)
		if err != nil {
			t.Fatal(err)
		}
		img, _ := s.at(tc.t, 480)
		got := map[bool]string{true: "red", false: "blue"}[img.Pix[0] == 255]
		if got != tc.want {
			t.Errorf("loop=%v t=%v: %s, want %s", tc.loop, tc.t, got, tc.want)
		}
	}
}

func TestApplyUpdate_ValidatesTheResult(t *testing.T) {
	st, err := parseSticker(json.RawMessage(`{"type":"text","text":"hi","x":0.1}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, fields, field string
	}{
		{"move", `{"x":0.9,"y":0.2}`, ""},
		{"restyle text", `{"text":"bye","color":"#FF0000","size":0.2}`, ""},
		{"bad colour", `{"color":"red"}`, "color"},
		{"too big", `{"size":3}`, "size"},
		{"rotation as text", `{"rotation":"fast"}`, "rotation"},
		{"type is fixed", `{"type":"image"}`, "type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var f map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.fields), &f); err != nil {
				t.Fatal(err)
			}
			out, err := applyUpdate(st, f)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if out.Type != "text" || out.Text == "" {
					t.Fatalf("update lost fields: %+v", out)
				}
				return
			}
			var ce *errcode.Error
			if err == nil || !errors.As(err, &ce) || ce.Fields[0].Field != tc.field {
				t.Fatalf("err %v, want one on %q", err, tc.field)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"default", func(*Config) {}, ""},
		{"no sessions", func(c *Config) { c.MaxSessions = 0 }, "max_sessions"},
		{"bad IP", func(c *Config) { c.ICEHostIPs = []string{"localhost"} }, "ice_host_ips"},
		{"half a port range", func(c *Config) { c.ICEPortMin = 50000 }, "ice_port_min"},
		{"inverted bitrates", func(c *Config) { c.MinBitrateKbps = 5000 }, "bitrates"},
		{"tiny messages", func(c *Config) { c.MaxMessageBytes = 10 }, "max_message_bytes"},
		{"cpu used", func(c *Config) { c.EncoderCPUUsed = 20 }, "encoder_cpu_used"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mutate(&c)
			err := c.Validate()
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSessionStats_Percentiles(t *testing.T) {
	st := newSessionStats(time.Unix(0, 0))
	for i := 1; i <= 100; i++ {
		st.record(time.Duration(i) * time.Millisecond)
	}
	st.drop()
	m := st.tick(time.Unix(2, 0))
	if m.Op != "stats" || m.FPS != 50 || m.LatencyP50 != 50 || m.LatencyP95 != 95 || m.FramesDropped != 1 {
		t.Fatalf("%+v", m)
	}
}

func TestLoad_ReportsCPU(t *testing.T) {
	e, err := New(DefaultConfig(), Deps{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	time.Sleep(150 * time.Millisecond)
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
	}
	l := e.Load()
	if l.Sessions != 0 || l.CPU <= 0 || l.CPU > 1 {
		t.Fatalf("%+v", l)
	}
}
