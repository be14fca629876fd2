// Package submit accepts render jobs the way the gateway does: it writes
// the job to the state store first (after which the job is never lost) and
// only then produces it to Kafka; if Kafka is down the job is still
// accepted and the scheduler's outbox sweep enqueues it later. It also
// cancels jobs.
package submit
