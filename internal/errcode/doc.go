// Package errcode is the one place where stickerd's public error taxonomy
// (docs/api.md, "Error codes") lives. Every boundary — HTTP problem
// responses, gRPC statuses, Kafka error events, metric labels — maps a Go
// error to a Code through this package, so the codes cannot drift apart.
package errcode
