// Package fetch downloads user-supplied URLs safely: only http and https,
// only to public addresses (loopback, private, link-local, CGNAT, multicast
// and cloud metadata ranges are refused at dial time, after DNS, so a
// rebinding name cannot slip through), with size and time limits.
package fetch
