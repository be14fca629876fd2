// Package etcd runs etcd members: the Raft-replicated key-value store that
// holds stickerd's task state. It embeds etcd (go.etcd.io/etcd/server/v3/embed)
// for the `stickerd kv` subcommand, `stickerd dev` and tests, and dials an
// external cluster in production. The job model on top of it lives in
// internal/jobstore; etcdtest starts throwaway clusters for tests.
package etcd
