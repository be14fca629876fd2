// Package batches keeps render batches (docs/api.md, "Batches"): one
// template rendered with many rows of variables, each row a job. A batch
// record holds what does not change (its template version, its rows and
// their job ids, in pages) and how it ended; while it runs, its counts are
// read from its jobs, so they are never stale.
//
// Tracker notices a batch's end and sends its one webhook: it follows the
// job records (a watch, and a sweep of the batches still running), and a
// compare-and-swap on the batch record makes exactly one tracker the one
// that ends it and claims the delivery, however many run.
package batches
