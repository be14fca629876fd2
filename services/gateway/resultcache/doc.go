// Package resultcache defines the result-cache key of a render request and
// writes the entry of a job that succeeded. The gateway answers an identical
// request with the finished job; whoever learns that a job succeeded (the
// gateway, the scheduler) writes the entry with Remember. It is kept apart
// from the gateway so that the scheduler can use it without the HTTP stack.
package resultcache
