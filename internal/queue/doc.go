// Package queue is stickerd's only Kafka client code: a keyed, synchronous
// Producer and an at-least-once group Consumer over segmentio/kafka-go, the
// topic names of docs/api.md, and EnsureTopics. A Consumer commits a
// message's offset only after its handler succeeds, so every message is
// handled at least once and consumers must deduplicate (by job id).
package queue
