package gateway

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/internal/errcode"
)

// fakeResolver answers names from a table; others do not exist.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.96.0.10:53", IsNotFound: true}
}

func TestRenders_RefusesNonPublicURLs(t *testing.T) {
	resolver := fakeResolver{
		"internal.corp.example": {netip.MustParseAddr("10.1.2.3")},
		"cdn.example.com":       {netip.MustParseAddr("93.184.216.34")},
		"nat64.example.com":     {netip.MustParseAddr("64:ff9b::a9fe:a9fe")},
	}
	h := newHarness(t, withDeps(func(d *Deps) { d.Resolver = resolver }))
	source := func(url string) string {
		return `{"source":{"url":"` + url + `"},"stickers":[{"type":"text","text":"x"}]}`
	}
	sticker := func(url string) string {
		return `{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"image","url":"` + url + `"}]}`
	}
	webhook := func(url string) string {
		return `{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"text","text":"x"}],"webhook_url":"` + url + `"}`
	}
	tests := []struct {
		name, body, field string
		hidden            string // an address the message must not show
	}{
		{"private webhook", webhook("http://127.0.0.1:9000/hook"), "webhook_url", ""},
		{"localhost webhook", webhook("http://localhost:9000/hook"), "webhook_url", ""},
		{"metadata webhook", webhook("http://169.254.169.254/latest/meta-data/"), "webhook_url", ""},
		{"webhook name resolving to a private address", webhook("https://internal.corp.example/hook"), "webhook_url", "10.1.2.3"},
		{"webhook not http", webhook("ftp://example.com/hook"), "webhook_url", ""},
		{"decimal", source("http://2130706433/a.mp4"), "source.url", ""},
		{"octal", source("http://0177.0.0.1/a.mp4"), "source.url", ""},
		{"short", source("http://127.1/a.mp4"), "source.url", ""},
		{"hex", source("http://0x7f.1/a.mp4"), "source.url", ""},
		{"hex metadata", sticker("http://0xa9fea9fe/x.png"), "stickers[0].url", ""},
		{"trailing dot", source("http://127.0.0.1./a.mp4"), "source.url", ""},
		{"IPv4-mapped", source("http://[::ffff:127.0.0.1]/a.mp4"), "source.url", ""},
		{"IPv4-compatible", source("http://[::127.0.0.1]/a.mp4"), "source.url", ""},
		{"6to4", source("http://[2002:a9fe:a9fe::1]/a.mp4"), "source.url", ""},
		{"NAT64", source("http://[64:ff9b::a9fe:a9fe]/a.mp4"), "source.url", ""},
		{"name resolving to NAT64 metadata", source("http://nat64.example.com/a.mp4"), "source.url", "a9fe"},
		{"numeric public, not dotted", source("http://134744072/a.mp4"), "source.url", ""},
		{"name resolving to a private address", source("http://internal.corp.example/a.mp4"), "source.url", "10.1.2.3"},
		{"percent-encoded loopback", source("http://%31%32%37.0.0.1/a.mp4"), "source.url", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := checkProblem(t, h.submit(tt.body), 400, errcode.SpecInvalid)
			i := slices.IndexFunc(p.Errors, func(f errcode.FieldError) bool { return f.Field == tt.field })
			if i < 0 {
				t.Fatalf("errors %+v do not name %s", p.Errors, tt.field)
			}
			if tt.hidden != "" && strings.Contains(p.Errors[i].Message+p.Detail, tt.hidden) {
				t.Fatalf("the answer shows the internal address %s: %+v", tt.hidden, p.Errors[i])
			}
		})
	}
	for _, ok := range []string{
		webhook("https://cdn.example.com/hook"),
		source("http://cdn.example.com/a.mp4"),
		source("http://93.184.216.34/a.mp4"),
		source("http://does-not-exist.example.com/a.mp4"), // the worker's fetch fails it
	} {
		decode(t, h.submit(ok), 202, nil)
	}
}

func TestRenders_AllowPrivateURLsCoversWebhooks(t *testing.T) {
	h := newHarness(t, withConfig(func(c *Config) { c.AllowPrivateURLs = true }))
	decode(t, h.submit(`{"source":{"color":"#000000","width":64,"height":64,"duration":1},"stickers":[{"type":"text","text":"x"}],
		"webhook_url":"http://127.0.0.1:9000/hook"}`), 202, nil)
	// Ambiguous numeric forms are refused even so.
	checkProblem(t, h.submit(`{"source":{"url":"http://127.1/a.mp4"},"stickers":[{"type":"text","text":"x"}]}`), 400, errcode.SpecInvalid)
}
