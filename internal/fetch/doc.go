// Package fetch downloads user-supplied URLs safely: only http and https,
// only to public addresses (loopback, private, link-local, CGNAT, multicast
// and cloud metadata ranges are refused at dial time, after DNS, so a
// rebinding name cannot slip through), with size and time limits.
//
// CheckHost judges a host without DNS, for checks at submit time: a
// non-public literal address in any form (IPv6 transition forms, and the
// decimal, octal and hex forms of inet_aton) is refused.
//
// A failed fetch is an *Error whose message may be shown to the client
// (it never names a resolver, a resolved address or a local path) and
// that matches errcode.ErrPermanent when another attempt cannot succeed.
package fetch
