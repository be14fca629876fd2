// Package errevents is how every stickerd service reports a typed error: an
// Event (docs/api.md, "Kafka topics": stickerd.errors) built by FromError
// from any Go error through errcode.Of, and a Publisher that counts it in
// stickerd_local_errors_total and ships it to Kafka in the background. The
// caller never waits on Kafka and never sees a failure: when the buffer is
// full or the brokers are down the event is dropped and counted in
// stickerd_error_events_dropped_total.
package errevents
