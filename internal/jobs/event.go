package jobs

// Event is one change to a job record, as a store's watch of every job
// (internal/jobstore's WatchJobs, etcd or in memory) reports it: the record
// after the change, with its Revision. For a deletion only ID and Revision
// are set. Treat it as "this is the job now", not as a delta: after a gap
// in the history a watch sends the current records again.
type Event struct {
	Job     *Job
	Deleted bool
}
