package fetch

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
		"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
		"::/96", // IPv4-compatible (deprecated), :: and ::1 included
		"::ffff:0:0:0/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
		"fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "fd00:ec2::254/128",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Public reports whether addr is a public unicast address. An IPv6
// address that carries an IPv4 one (IPv4-mapped, NAT64 64:ff9b::/96,
// 6to4 2002::/16) is judged by the IPv4 address; the other
// transition forms (IPv4-compatible, IPv4-translated, local-use NAT64,
// Teredo) are never public.
func Public(addr netip.Addr) bool {
	addr = addr.WithZone("").Unmap()
	if addr.Is6() {
		b := addr.As16()
		switch {
		case nat64.Contains(addr):
			return Public(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(addr):
			return Public(netip.AddrFrom4([4]byte(b[2:6])))
		}
	}
	if !addr.IsValid() || addr.IsUnspecified() || addr.IsLoopback() || addr.IsPrivate() ||
		addr.IsLinkLocalUnicast() || addr.IsMulticast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// CheckHost judges a URL's host (as url.URL.Hostname or .Host gives it,
// with or without brackets and port) without DNS. It refuses:
//
//   - a literal address that is not Public (ErrForbiddenAddress), IPv6
//     transition forms included;
//   - a host that is a number in any form inet_aton(3) or a browser
//     accepts (decimal, octal, hex, one to four parts: 2130706433,
//     0177.0.0.1, 127.1, 0x7f.1) other than plain dotted decimal
//     (ErrNumericHost; ErrForbiddenAddress too when the number is a
//     non-public address), since resolvers disagree on such forms;
//   - localhost and names under .localhost (ErrForbiddenAddress), which
//     resolve to loopback by definition (RFC 6761).
//
// Any other name is nil: only a DNS lookup, or the dial-time check of
// the Fetcher, can judge it.
func CheckHost(host string) error {
	if h, _, err := splitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return fmt.Errorf("%w: the URL has no host", ErrBadURL)
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if !Public(a) {
			return fmt.Errorf("%w: %s is a loopback, private, link-local or metadata address", ErrForbiddenAddress, host)
		}
		return nil
	}
	a, numeric, err := parseIPv4Number(host)
	switch {
	case numeric && err != nil:
		return fmt.Errorf("%w: %s: %v", ErrNumericHost, host, err)
	case numeric && !Public(a):
		return fmt.Errorf("%w: %w: %s is %s, a loopback, private, link-local or metadata address", ErrForbiddenAddress, ErrNumericHost, host, a)
	case numeric:
		return fmt.Errorf("%w: %s is %s; write it so", ErrNumericHost, host, a)
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return fmt.Errorf("%w: %s is a loopback name", ErrForbiddenAddress, host)
	}
	return nil
}

// splitHostPort splits "host:port" and "[v6]:port"; a bare IPv6 address
// is not split.
func splitHostPort(s string) (string, string, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.LastIndex(s, "]")
		if end > 0 && strings.HasPrefix(s[end+1:], ":") {
			return s[1:end], s[end+2:], nil
		}
		return "", "", errors.New("no port")
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && strings.Count(s, ":") == 1 {
		return s[:i], s[i+1:], nil
	}
	return "", "", errors.New("no port")
}

// parseIPv4Number parses host the way inet_aton(3) and the WHATWG URL
// standard do when its last label (a final dot ignored) is a number:
// one to four parts, each decimal, octal (leading 0) or hex (0x); the
// last part fills the bytes the others leave. numeric is false for a
// host whose last label is not a number (a name); err is set for a
// number that is no address.
func parseIPv4Number(host string) (addr netip.Addr, numeric bool, err error) {
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if !isNumberLabel(parts[len(parts)-1]) {
		return netip.Addr{}, false, nil
	}
	if len(parts) > 4 {
		return netip.Addr{}, true, errors.New("more than four parts")
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		v, err := parseIPv4Part(p)
		if err != nil {
			return netip.Addr{}, true, fmt.Errorf("part %q: %w", p, err)
		}
		vals[i] = v
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, true, errors.New("the last part is too large")
	}
	n := last
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, true, errors.New("a part is over 255")
		}
		n |= v << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true, nil
}

func isNumberLabel(s string) bool {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return s != "" && strings.Trim(s, "0123456789") == ""
}

func parseIPv4Part(p string) (uint64, error) {
	lp := strings.ToLower(p)
	switch {
	case p == "":
		return 0, errors.New("empty")
	case strings.HasPrefix(lp, "0x"):
		if lp == "0x" {
			return 0, nil
		}
		return strconv.ParseUint(lp[2:], 16, 32)
	case len(p) > 1 && p[0] == '0':
		return strconv.ParseUint(p[1:], 8, 32)
	}
	return strconv.ParseUint(p, 10, 32)
}
