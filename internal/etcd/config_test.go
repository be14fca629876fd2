package etcd

import (
	"errors"
	"testing"
)

func TestMemberConfig_Validate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*MemberConfig)
		wantErr bool
	}{
		{"defaults", func(*MemberConfig) {}, false},
		{"zero config takes defaults", func(c *MemberConfig) { *c = MemberConfig{} }, false},
		{"three members", func(c *MemberConfig) {
			c.Name = "b"
			c.PeerURLs = []string{"http://127.0.0.1:2480"}
			c.InitialCluster = "a=http://127.0.0.1:2380,b=http://127.0.0.1:2480,c=http://127.0.0.1:2580"
		}, false},
		{"listen apart from advertise", func(c *MemberConfig) {
			c.ClientURLs = []string{"http://etcd1:2379"}
			c.ListenClientURLs = []string{"http://0.0.0.0:2379"}
			c.InsecureListen = true
		}, false},
		{"off loopback in clear", func(c *MemberConfig) {
			c.ClientURLs = []string{"http://etcd1:2379"}
			c.ListenClientURLs = []string{"http://0.0.0.0:2379"}
		}, true},
		{"peer off loopback in clear", func(c *MemberConfig) { c.PeerURLs = []string{"http://10.0.0.1:2380"} }, true},
		{"tls off loopback", func(c *MemberConfig) {
			c.CertFile, c.KeyFile, c.TrustedCAFile = "etcd.crt", "etcd.key", "ca.crt"
			c.ClientURLs, c.PeerURLs = []string{"https://etcd1:2379"}, []string{"https://etcd1:2380"}
			c.ListenClientURLs, c.ListenPeerURLs = []string{"https://0.0.0.0:2379"}, []string{"https://0.0.0.0:2380"}
		}, false},
		{"tls with http urls", func(c *MemberConfig) { c.CertFile, c.KeyFile = "etcd.crt", "etcd.key" }, true},
		{"cert without key", func(c *MemberConfig) {
			c.CertFile = "etcd.crt"
			c.ClientURLs, c.PeerURLs = []string{"https://127.0.0.1:2379"}, []string{"https://127.0.0.1:2380"}
		}, true},
		{"ca without cert", func(c *MemberConfig) { c.TrustedCAFile = "ca.crt" }, true},
		{"bad cluster state", func(c *MemberConfig) { c.InitialClusterState = "joining" }, true},
		{"bad log level", func(c *MemberConfig) { c.LogLevel = "loud" }, true},
		{"url without port", func(c *MemberConfig) { c.ClientURLs = []string{"http://127.0.0.1"} }, true},
		{"https without tls", func(c *MemberConfig) { c.PeerURLs = []string{"https://127.0.0.1:2380"} }, true},
		{"cluster lacks member", func(c *MemberConfig) { c.InitialCluster = "other=http://127.0.0.1:2380" }, true},
		{"name with comma", func(c *MemberConfig) { c.Name = "a,b" }, true},
		{"negative timeout", func(c *MemberConfig) { c.StartTimeout = -1 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultMemberConfig()
			tt.edit(&c)
			err := c.Validate()
			if (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, want error %v", err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v is not ErrInvalidConfig", err)
			}
		})
	}
}

func TestMemberConfig_DefaultInitialCluster(t *testing.T) {
	c := MemberConfig{Name: "solo", PeerURLs: []string{"http://127.0.0.1:7001"}}.withDefaults()
	if c.InitialCluster != "solo=http://127.0.0.1:7001" {
		t.Fatalf("InitialCluster = %q", c.InitialCluster)
	}
	if len(c.ListenClientURLs) != 1 || c.ListenClientURLs[0] != "http://127.0.0.1:2379" {
		t.Fatalf("ListenClientURLs = %v", c.ListenClientURLs)
	}
}
