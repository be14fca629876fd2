// Package jobs is the render job model shared by the gateway, the
// scheduler, the workers and the state store: the record, its states and
// the transitions between them. It has no I/O; the state store persists a
// Job and guards every change with a compare-and-swap on its revision.
package jobs
