package assets

import (
	"context"
	"errors"
	"fmt"

	"github.com/stickerd/stickerd/internal/errcode"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrNotFound is returned for an asset id that the tenant does not own,
// including one that belongs to another tenant.
var ErrNotFound = errors.New("assets: no such asset")

// ErrInvalid is returned for a malformed tenant or asset id.
var ErrInvalid = errors.New("assets: invalid request")

// storeErr turns an etcd client error into a typed one: "etcd cannot answer
// now" is STATE_STORE_UNAVAILABLE, which the gateway answers with 503 and
// Retry-After; anything else is INTERNAL. The cause stays in the chain.
func storeErr(op string, err error) error {
	if unavailable(err) {
		return errcode.Wrap(errcode.StateStoreUnavailable, fmt.Errorf("assets: %s: %w", op, err),
			"the state store is unavailable; try again")
	}
	return errcode.Wrap(errcode.Internal, fmt.Errorf("assets: %s: %w", op, err), "asset store")
}

// unavailable mirrors jobstore's classification of etcd errors.
func unavailable(err error) bool {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, clientv3.ErrNoAvailableEndpoints):
		return true
	case errors.Is(err, context.Canceled):
		return false
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

func unavailableCode(c codes.Code) bool {
	return c == codes.Unavailable || c == codes.DeadlineExceeded || c == codes.ResourceExhausted
}
