package jobstore

import "context"

// Classify maps an etcd client error onto this package's errors, as the
// job store does: ErrUnavailable when etcd cannot answer now, the error
// wrapped otherwise. Other stores on the same etcd (templates, batches)
// use it, so that callers handle their outages as the job store's.
func Classify(op string, err error) error { return classify(op, err) }

// WithTimeout bounds a request whose ctx has no deadline (5 s), as the
// job store bounds its own.
func WithTimeout(ctx context.Context) (context.Context, context.CancelFunc) { return withTimeout(ctx) }
