// Package sharedstate holds the small pieces of shared, short-lived state that
// several gateways must agree on: the result cache (identical request →
// finished job), per-tenant rate limits, Idempotency-Key reservations and
// the fan-out of render progress to event streams.
//
// Each feature is one small interface with two implementations that pass
// one shared test suite:
//
//   - in-process (NewMemory…): maps with expiry, for `stickerd dev` without
//     --redis-url and for a single gateway. State is lost on restart and is
//     not shared between processes.
//   - Redis (NewRedis…, over github.com/redis/go-redis/v9): for several
//     gateways and schedulers. Every multi-step operation is one atomic
//     command or Lua script, every key lives under Config.Prefix
//     ("stickerd:") and carries a TTL, so idle tenants and finished jobs
//     leave nothing behind.
//
// Redis is an accelerator, never the source of truth (etcd is), so the
// client is configured to fail fast (dial 1s, read/write 500ms, one retry)
// and every error wraps ErrUnavailable. Callers must treat such an error as
// "feature off for this request" and never answer 5xx because of it. The
// documented choices when Redis is unavailable are:
//
//   - rate limiting fails open: the request is allowed (and counted in a
//     metric), because refusing every tenant is worse than a short burst;
//   - the result cache is bypassed: a miss on Get, Put errors are ignored,
//     so an identical request renders again;
//   - idempotency is skipped: the request is processed as if it carried no
//     Idempotency-Key (a client retry during the outage may create a
//     duplicate job);
//   - progress falls back to the state store's coarser updates: event
//     streams still see every status change from etcd, only the fine
//     progress ticks between them are missing. A subscription already open
//     resumes by itself when Redis comes back.
//
// Open picks the implementation from Config.RedisURL; NewFromURL and
// NewMemory build one directly. Set.Ping is the readiness check.
package sharedstate
