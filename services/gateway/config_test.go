package gateway

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"defaults", func(*Config) {}, true},
		{"keys", func(c *Config) { c.APIKeys = map[string]string{"k1": "acme"} }, true},
		{"no upload limit", func(c *Config) { c.MaxUploadBytes = 0 }, false},
		{"spec limit over the parser's", func(c *Config) { c.MaxSpecBytes = 2 << 20 }, false},
		{"no queue limit", func(c *Config) { c.QueueDepthLimit = 0 }, false},
		{"no heartbeat", func(c *Config) { c.HeartbeatInterval = 0 }, false},
		{"sub-second retry", func(c *Config) { c.QueueRetryAfter = 0 }, false},
		{"key with a space", func(c *Config) { c.APIKeys = map[string]string{"a b": "acme"} }, false},
		{"tenant with a slash", func(c *Config) { c.APIKeys = map[string]string{"k": "a/b"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestLoadAPIKeys(t *testing.T) {
	tests := []struct {
		name, file string
		want       map[string]string
		errHas     string
	}{
		{"keys, comments and blank lines", "# tenants\nacme:sk_acme_1\n\n  acme : sk_acme_2 \nglobex:sk_globex\n",
			map[string]string{"sk_acme_1": "acme", "sk_acme_2": "acme", "sk_globex": "globex"}, ""},
		{"a key may contain colons", "acme:sk:with:colons\n", map[string]string{"sk:with:colons": "acme"}, ""},
		{"no colon", "acme\n", nil, ":1:"},
		{"empty key", "acme:\n", nil, ":1:"},
		{"bad tenant", "# x\n../etc:key\n", nil, ":2:"},
		{"duplicate key", "a:k\nb:k\n", nil, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadAPIKeys(path)
			if tt.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errHas) || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("err = %v, want ErrInvalidConfig mentioning %q", err, tt.errHas)
				}
				if strings.Contains(err.Error(), "sk_") {
					t.Fatalf("the error shows a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
	if _, err := LoadAPIKeys(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file loaded")
	}
}
