package fetch

import (
	"errors"
	"net/netip"
	"testing"
)

func TestPublic_EmbeddedIPv4(t *testing.T) {
	tests := map[string]bool{
		"::127.0.0.1":            false, // IPv4-compatible (deprecated)
		"::8.8.8.8":              false,
		"::ffff:0:127.0.0.1":     false, // IPv4-translated (SIIT)
		"64:ff9b::127.0.0.1":     false, // NAT64 well-known prefix
		"64:ff9b::10.0.0.1":      false,
		"64:ff9b::8.8.8.8":       true,  // DNS64 answer for a public host
		"64:ff9b:1::a00:1":       false, // local-use NAT64
		"2002:7f00:1::1":         false, // 6to4 of 127.0.0.1
		"2002:a9fe:a9fe::1":      false, // 6to4 of 169.254.169.254
		"2002:c0a8:101::1":       false, // 6to4 of 192.168.1.1
		"2002:808:808::1":        true,  // 6to4 of 8.8.8.8
		"2001:0:4136:e378::1":    false, // Teredo
		"2001:db8::1":            false,
		"192.88.99.1":            false, // 6to4 relay anycast
		"2606:4700:4700::1111":   true,
		"2a00:1450:4001:80b::e":  true,
		"::ffff:169.254.169.254": false,
	}
	for s, want := range tests {
		t.Run(s, func(t *testing.T) {
			if got := Public(netip.MustParseAddr(s)); got != want {
				t.Fatalf("Public(%s) = %v, want %v", s, got, want)
			}
		})
	}
}

func TestParseIPv4Number(t *testing.T) {
	tests := []struct {
		host string
		want string // "" when not a number
		ok   bool   // parses as a number (valid or not)
	}{
		{"2130706433", "127.0.0.1", true},
		{"0177.0.0.1", "127.0.0.1", true},
		{"127.1", "127.0.0.1", true},
		{"127.0.1", "127.0.0.1", true},
		{"0x7f.1", "127.0.0.1", true},
		{"0x7F000001", "127.0.0.1", true},
		{"0x7f.0.0.0x1", "127.0.0.1", true},
		{"017700000001", "127.0.0.1", true},
		{"169.254.43518", "169.254.169.254", true},
		{"0xa9.0xfe.0xa9.0xfe", "169.254.169.254", true},
		{"10.0.0.1", "10.0.0.1", true},
		{"8.8.8.8", "8.8.8.8", true},
		{"127.0.0.1.", "127.0.0.1", true},
		{"0", "0.0.0.0", true},
		{"0x", "0.0.0.0", true},
		{"4294967296", "", true},  // over 32 bits: a number, but no address
		{"256.0.0.1", "", true},   // part over a byte
		{"1.2.3.4.5", "", true},   // five parts
		{"09.0.0.1", "", true},    // 9 is no octal digit
		{"1.2.3.0x1g", "", false}, // last label not a number: a name
		{"example.com", "", false},
		{"1e100.net", "", false},
		{"123.example", "", false},
		{"localhost", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			a, numeric, err := parseIPv4Number(tt.host)
			if numeric != tt.ok {
				t.Fatalf("numeric = %v, want %v", numeric, tt.ok)
			}
			if tt.want == "" {
				if numeric && err == nil {
					t.Fatalf("parsed as %s, want an error", a)
				}
				return
			}
			if err != nil || a.String() != tt.want {
				t.Fatalf("= %s, %v; want %s", a, err, tt.want)
			}
		})
	}
}

func TestCheckHost(t *testing.T) {
	tests := []struct {
		host string
		want error // nil: fine without DNS (a public address, or a name)
	}{
		{"example.com", nil},
		{"8.8.8.8", nil},
		{"2606:4700::1111", nil},
		{"[2606:4700::1111]", nil},
		{"127.0.0.1", ErrForbiddenAddress},
		{"[::1]", ErrForbiddenAddress},
		{"::ffff:127.0.0.1", ErrForbiddenAddress},
		{"[::ffff:7f00:1]", ErrForbiddenAddress},
		{"[::127.0.0.1]", ErrForbiddenAddress},
		{"[2002:a9fe:a9fe::]", ErrForbiddenAddress},
		{"[fe80::1%25eth0]", ErrForbiddenAddress},
		{"fe80::1%eth0", ErrForbiddenAddress},
		{"169.254.169.254", ErrForbiddenAddress},
		{"2130706433", ErrForbiddenAddress},
		{"0177.0.0.1", ErrForbiddenAddress},
		{"127.1", ErrForbiddenAddress},
		{"0x7f.1", ErrForbiddenAddress},
		{"0xA9FEA9FE", ErrForbiddenAddress},
		{"127.0.0.1.", ErrForbiddenAddress},
		{"localhost", ErrForbiddenAddress},
		{"LOCALHOST.", ErrForbiddenAddress},
		{"api.localhost", ErrForbiddenAddress},
		{"134744072", ErrNumericHost}, // 8.8.8.8, but not in dotted-decimal form
		{"8.8.8.010", ErrNumericHost},
		{"4294967296", ErrNumericHost},
		{"1.2.3.4.5", ErrNumericHost},
		{"", ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			err := CheckHost(tt.host)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckHost = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckHost = %v, want %v", err, tt.want)
			}
		})
	}
}
