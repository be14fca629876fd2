package resultcache

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/render/spec"
)

type hashes map[string]string

func (h hashes) Hash(_ context.Context, _, id string) (string, error) {
	if s, ok := h[id]; ok {
		return s, nil
	}
	return "", errors.New("no such asset")
}

type puts map[string]string

func (p puts) Put(_ context.Context, key, id string, _ time.Duration) error { p[key] = id; return nil }

func parse(t *testing.T, s string) *spec.Spec {
	t.Helper()
	sp, err := spec.Parse([]byte(s), spec.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

const withAssets = `{"source":{"asset_id":"ast_v"},"stickers":[{"type":"image","asset_id":"ast_i"},
	{"type":"text","text":"x","font":"ast_f"},{"type":"image","builtin":"heart"}]}`

func TestAssetRefs(t *testing.T) {
	got := AssetRefs(parse(t, withAssets))
	want := []AssetRef{{"source.asset_id", "ast_v", RoleSource}, {"stickers[0].asset_id", "ast_i", RoleSticker}, {"stickers[1].font", "ast_f", RoleFont}}
	if len(got) != len(want) {
		t.Fatalf("refs %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("refs %v, want %v", got, want)
		}
	}
}

func TestKey(t *testing.T) {
	ctx := context.Background()
	h := hashes{"ast_v": "1", "ast_i": "2", "ast_f": "3"}
	sp := parse(t, withAssets)
	base, ok, err := Key(ctx, h, "acme", sp)
	if err != nil || !ok || len(base) != 64 {
		t.Fatalf("Key = %q %v %v", base, ok, err)
	}
	tests := []struct {
		name   string
		key    func() (string, bool, error)
		same   bool
		cached bool
	}{
		{"same again, reformatted", func() (string, bool, error) {
			return Key(ctx, h, "acme", parse(t, "\n"+withAssets+"  "))
		}, true, true},
		{"defaults spelled out", func() (string, bool, error) {
			return Key(ctx, h, "acme", parse(t, withAssets[:len(withAssets)-1]+`,"priority":"normal"}`))
		}, true, true},
		{"another tenant", func() (string, bool, error) { return Key(ctx, h, "globex", sp) }, false, true},
		{"other bytes", func() (string, bool, error) {
			return Key(ctx, hashes{"ast_v": "1", "ast_i": "9", "ast_f": "3"}, "acme", sp)
		}, false, true},
		{"a URL source", func() (string, bool, error) {
			return Key(ctx, h, "acme", parse(t, `{"source":{"url":"https://example.com/a.mp4"},"stickers":[{"type":"text","text":"x"}]}`))
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok, err := tt.key()
			if err != nil || ok != tt.cached || (k == base) != tt.same {
				t.Fatalf("Key = %q %v %v; base %q", k, ok, err, base)
			}
		})
	}
	if _, _, err := Key(ctx, hashes{}, "acme", sp); err == nil {
		t.Fatal("a missing asset hashed")
	}
}

func TestRemember_UsesTheStoredSpec(t *testing.T) {
	ctx := context.Background()
	h := hashes{"ast_v": "1", "ast_i": "2", "ast_f": "3"}
	sp := parse(t, withAssets)
	raw, _ := json.Marshal(sp) // what submit stores
	j := &jobs.Job{ID: "job_1", Tenant: "acme", Status: jobs.Succeeded, Spec: raw, Output: &jobs.Output{Key: "k"}}
	p := puts{}
	if err := Remember(ctx, p, h, j, time.Hour); err != nil {
		t.Fatal(err)
	}
	key, _, _ := Key(ctx, h, "acme", sp)
	if p[key] != "job_1" {
		t.Fatalf("entries %v, want %s → job_1", p, key)
	}
	j.Status = jobs.Failed
	if err := Remember(ctx, puts{}, h, j, time.Hour); err != nil {
		t.Fatal(err)
	}
}
