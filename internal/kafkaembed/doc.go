// Package kafkaembed runs an embedded Kafka-protocol broker (franz-go's kfake)
// on a real TCP port, for `stickerd dev`, a standalone `stickerd kafka`
// process and tests. Any Kafka client can reach it; stickerd's own code talks
// to it only through internal/queue (segmentio/kafka-go). State lives in
// memory and is lost when the broker closes.
package kafkaembed
