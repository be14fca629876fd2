package edge

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pion/ice/v4"
)

// A client's ICE candidates are addresses the edge sends STUN checks to:
// without a filter, a client could aim the edge at its own host's
// neighbourhood (the cloud metadata service, link-local and multicast
// services). Private LAN addresses are what WebRTC is for and are
// accepted; loopback ones only when the edge itself offers loopback
// candidates (stickerd dev). mDNS (.local) candidates are pion's.

var (
	metadataAddrs = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}
	nat64Prefix   = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
	v4Compatible  = netip.MustParsePrefix("::/96")
	thisNetwork   = netip.MustParsePrefix("0.0.0.0/8")
	reservedV4    = netip.MustParsePrefix("240.0.0.0/4")
	broadcastV4   = netip.MustParseAddr("255.255.255.255")
)

// candidatePolicy decides which addresses a client's candidates may name.
type candidatePolicy struct {
	loopback    bool // the edge offers loopback candidates itself
	allow, deny []netip.Prefix
}

func newCandidatePolicy(cfg Config) (candidatePolicy, error) {
	p := candidatePolicy{}
	for _, s := range cfg.ICEHostIPs {
		if a, err := netip.ParseAddr(s); err == nil && a.Unmap().IsLoopback() {
			p.loopback = true
		}
	}
	var err error
	if p.allow, err = parseRanges("allow_candidates", cfg.AllowCandidates); err != nil {
		return p, err
	}
	p.deny, err = parseRanges("deny_candidates", cfg.DenyCandidates)
	return p, err
}

// parseRanges reads CIDR prefixes and single addresses.
func parseRanges(name string, ss []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, s := range ss {
		if a, err := netip.ParseAddr(s); err == nil {
			ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("edge config: %s: %q is not an address or CIDR range", name, s)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// refusal says why the edge will not send to addr, or "" when it will.
// The deny list wins over the allow list, which wins over the defaults.
func (p candidatePolicy) refusal(addr netip.Addr) string {
	a := embeddedIPv4(addr.WithZone("").Unmap())
	for _, r := range p.deny {
		if r.Contains(a) {
			return fmt.Sprintf("%s is in a range this edge refuses (deny_candidates)", a)
		}
	}
	for _, r := range p.allow {
		if r.Contains(a) {
			return ""
		}
	}
	switch {
	case isMetadata(a):
		return fmt.Sprintf("%s is the cloud metadata address", a)
	case a.IsLinkLocalUnicast():
		return fmt.Sprintf("%s is a link-local address", a)
	case a.IsUnspecified() || thisNetwork.Contains(a):
		return fmt.Sprintf("%s is an unspecified address", a)
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return fmt.Sprintf("%s is a multicast address", a)
	case a == broadcastV4:
		return fmt.Sprintf("%s is the broadcast address", a)
	case reservedV4.Contains(a):
		return fmt.Sprintf("%s is a reserved address", a)
	case a.IsLoopback() && !p.loopback:
		return fmt.Sprintf("%s is a loopback address, and this edge is not on loopback", a)
	}
	return ""
}

func isMetadata(a netip.Addr) bool {
	for _, m := range metadataAddrs {
		if a == m {
			return true
		}
	}
	return false
}

// embeddedIPv4 is the IPv4 address an IPv6 transition address carries
// (IPv4-compatible, NAT64 64:ff9b::/96, 6to4), which is where packets to
// it end up; any other address is returned as is.
func embeddedIPv4(a netip.Addr) netip.Addr {
	if !a.Is6() {
		return a
	}
	b := a.As16()
	switch {
	case nat64Prefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16]))
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6]))
	case v4Compatible.Contains(a) && !a.IsUnspecified() && !a.IsLoopback():
		return netip.AddrFrom4([4]byte(b[12:16]))
	}
	return a
}

// checkCandidate parses an ICE candidate attribute value ("candidate:…")
// and says why the edge refuses it, or "" when it is accepted. A
// candidate pion cannot parse, or one named by an mDNS name, is left to
// pion.
func (p candidatePolicy) checkCandidate(value string) (ice.Candidate, string, error) {
	c, err := ice.UnmarshalCandidate(value)
	if err != nil {
		return nil, "", err
	}
	a, err := netip.ParseAddr(c.Address())
	if err != nil {
		return c, "", nil // an mDNS name
	}
	if why := p.refusal(a); why != "" {
		return c, fmt.Sprintf("the candidate %s %d is refused: %s", c.Address(), c.Port(), why), nil
	}
	return c, "", nil
}

// filterOffer removes from an SDP offer the candidate lines the policy
// refuses and returns the rest unchanged, with what was dropped.
func (p candidatePolicy) filterOffer(offer string) (string, []string) {
	var dropped []string
	lines := strings.SplitAfter(offer, "\n")
	kept := lines[:0]
	for _, line := range lines {
		value, ok := strings.CutPrefix(strings.TrimSpace(line), "a=")
		if ok && strings.HasPrefix(value, "candidate:") {
			if _, why, err := p.checkCandidate(value); err == nil && why != "" {
				dropped = append(dropped, why)
				continue
			}
		}
		kept = append(kept, line)
	}
	if len(dropped) == 0 {
		return offer, nil
	}
	return strings.Join(kept, ""), dropped
}
