package jobstore

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var (
	// ErrNotFound: no job has this id.
	ErrNotFound = errors.New("jobstore: job not found")
	// ErrExists: Create found a job with this id already.
	ErrExists = errors.New("jobstore: job already exists")
	// ErrConflict: the record changed since the revision the write was
	// based on; re-read and decide again.
	ErrConflict = errors.New("jobstore: revision conflict")
	// ErrUnavailable: etcd did not answer in time or cannot serve now (no
	// leader, no reachable member, request deadline passed, overloaded).
	// A write that fails so may or may not have been applied: re-read
	// before retrying it.
	ErrUnavailable = errors.New("jobstore: state store unavailable")
	// ErrInvalid: the request itself is wrong (an empty or malformed id, a
	// cursor this store did not issue, an Update that changes a key field).
	ErrInvalid = errors.New("jobstore: invalid request")
)

// classify maps an etcd client error onto the package's errors, keeping
// the cause in the chain for logs.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, op, err)
	}
	return fmt.Errorf("jobstore: %s: %w", op, err)
}

func unavailable(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, clientv3.ErrNoAvailableEndpoints):
		return true
	case errors.Is(err, context.Canceled):
		return false // the caller gave up; not the store's fault
	}
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return unavailableCode(ee.Code())
	}
	if st, ok := status.FromError(err); ok {
		return unavailableCode(st.Code())
	}
	return false
}

// unavailableCode: Unavailable covers no leader, leader changed, request
// timed out, server stopped and connection refused; ResourceExhausted is
// etcd's "too many requests".
func unavailableCode(c codes.Code) bool {
	return c == codes.Unavailable || c == codes.DeadlineExceeded || c == codes.ResourceExhausted
}
