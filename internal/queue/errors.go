package queue

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/segmentio/kafka-go"

	"github.com/stickerd/stickerd/internal/errcode"
)

// ErrUnavailable matches (errors.Is) every error this package returns because
// the brokers could not be reached or could not serve the request in time:
// refused or dropped connections, timeouts, no leader or coordinator. It is
// an errcode.QueueUnavailable error, so errcode.Of maps it to
// QUEUE_UNAVAILABLE with no table of its own; the cause stays reachable
// through errors.Is/As.
var ErrUnavailable error = errcode.New(errcode.QueueUnavailable, "")

// ErrClosed is returned by Run and Publish after Close.
var ErrClosed = errors.New("queue: closed")

// unavailable wraps cause as an ErrUnavailable naming what failed.
func unavailable(cause error, what string) error {
	return errcode.Wrap(errcode.QueueUnavailable, cause, "queue: %s: broker unavailable: %v", what, cause)
}

// isUnavailable reports whether err means the brokers are unreachable or
// temporarily unable to serve, as opposed to a request that can never
// succeed (too large, unauthorized, closed client, caller's cancellation).
func isUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var werrs kafka.WriteErrors
	if errors.As(err, &werrs) {
		for _, e := range werrs {
			if isUnavailable(e) {
				return true
			}
		}
		return false
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		// kafka-go's Temporary is the protocol's "retriable" set: leader
		// or coordinator not available, not leader, request timed out,
		// network exception, not enough replicas, unknown topic (yet).
		return kerr.Temporary() || kerr.Timeout()
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return true
	}
	var operr *net.OpError
	var dnserr *net.DNSError
	return errors.As(err, &operr) || errors.As(err, &dnserr)
}
