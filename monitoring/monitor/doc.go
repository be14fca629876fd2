// Package monitor is the body of `stickerd monitor`: it consumes the typed
// error events of every replica (stickerd.errors) and the dead letters
// (stickerd.render.dlq) in consumer group "stickerd-monitor", and turns them
// into the cluster-wide counters stickerd_errors_total{service,code} and
// stickerd_dlq_messages_total that the alert rules and dashboards read.
// Label values are bounded: unknown codes count as INTERNAL and unknown
// services as "unknown", each with a warning log.
package monitor
