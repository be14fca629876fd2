// Package scheduler dispatches render jobs to workers. It takes jobs in from
// Kafka, records their admission in the state store, keeps a priority queue,
// places each job on a worker with free capacity (GPU workers first for work
// that benefits), tracks workers by heartbeat timers on an injectable clock,
// and drives every job to exactly one terminal state with compare-and-swap
// writes and fencing tokens. Replicas elect one dispatcher through etcd.
package scheduler
