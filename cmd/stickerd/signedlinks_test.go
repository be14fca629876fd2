package main

import (
	"flag"
	"testing"
	"time"
)

// --signed-url-ttl, --url-signing-key (and its environment twin) and
// --public-url reach the gateway's config, on gateway and dev alike.
func TestGatewayOpts_SignedLinks(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef"
	t.Setenv("STICKERD_URL_SIGNING_KEY", "")
	{
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		o := gatewayFlags(fs, false)
		if err := parseFlags(fs, nil, 0); err != nil {
			t.Fatal(err)
		}
		if cfg, err := o.config("127.0.0.1:8080"); err != nil || cfg.SignedURLTTL != 24*time.Hour || len(cfg.URLSigningKey) != 0 {
			t.Fatalf("defaults: %+v %v", cfg, err)
		}
	}
	t.Setenv("STICKERD_URL_SIGNING_KEY", key)
	for _, dev := range []bool{false, true} {
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		o := gatewayFlags(fs, dev)
		if err := parseFlags(fs, []string{"--signed-url-ttl", "90m", "--public-url", "https://cdn.example.com"}, 0); err != nil {
			t.Fatal(err)
		}
		cfg, err := o.config("127.0.0.1:8080")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SignedURLTTL != 90*time.Minute || string(cfg.URLSigningKey) != key || cfg.PublicURL != "https://cdn.example.com" {
			t.Fatalf("dev %v: ttl %v, key %q, public %q", dev, cfg.SignedURLTTL, cfg.URLSigningKey, cfg.PublicURL)
		}
	}
	for _, args := range [][]string{{"--url-signing-key", "short"}, {"--signed-url-ttl", "0s"}, {"--public-url", "cdn.example.com"}} {
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		o := gatewayFlags(fs, false)
		if err := parseFlags(fs, args, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := o.config("127.0.0.1:8080"); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
