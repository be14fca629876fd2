package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/stickerd/stickerd/internal/errcode"
)

var (
	// ErrForbiddenAddress is returned for a URL whose host is, or resolves
	// to, a non-public address.
	ErrForbiddenAddress = errors.New("fetch: the URL resolves to a private or local address")
	// ErrNumericHost is returned for a host written as a number in a form
	// other than dotted decimal (2130706433, 0177.0.0.1, 127.1, 0x7f.1):
	// resolvers disagree on such forms, so they are never dialled.
	ErrNumericHost = errors.New("fetch: the host is a number in a form other than dotted decimal")
	// ErrTooLarge is returned when the body exceeds MaxBytes.
	ErrTooLarge = errors.New("fetch: the resource is over the size limit")
	// ErrBadURL is returned for a URL that is not http(s).
	ErrBadURL = errors.New("fetch: only http and https URLs are fetched")
	// ErrStatus is returned for a non-2xx answer.
	ErrStatus = errors.New("fetch: the server answered with an error")
	// ErrHostNotFound is returned when DNS says the host does not exist.
	ErrHostNotFound = errors.New("fetch: the host was not found")
	// ErrDNS is returned when the host could not be looked up (a resolver
	// timeout or failure): another attempt may succeed.
	ErrDNS = errors.New("fetch: the host could not be looked up")
	// ErrUnreachable is returned when the server could not be reached or
	// the transfer broke off: refused, reset, timed out.
	ErrUnreachable = errors.New("fetch: the server could not be reached")
	// ErrRedirect is returned for too many redirects, or one to a URL
	// that is refused.
	ErrRedirect = errors.New("fetch: the redirect was not followed")
	// ErrTLS is returned when the server's certificate is not valid.
	ErrTLS = errors.New("fetch: the server's TLS certificate is not valid")
	// ErrStore is returned when the download could not be written locally.
	ErrStore = errors.New("fetch: the download could not be stored")
)

// Error is a failed fetch. Its message is safe to show the client who
// gave the URL: it names the URL's host and what went wrong, never a
// resolver's address, the address a name resolved to, or a local path.
// The cause stays reachable through errors.Is and errors.As, for logs.
// Failures that fail the same way on every attempt (a host that does not
// exist, a 4xx, a refused address, a bad URL, a body over the limit)
// match errcode.ErrPermanent.
type Error struct {
	// Kind is one of this package's Err* values.
	Kind error
	// Permanent: another attempt cannot succeed.
	Permanent bool
	msg       string
	cause     error
}

func (e *Error) Error() string { return e.msg }

// Unwrap gives the kind, errcode.ErrPermanent when permanent, and the
// cause.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Permanent {
		errs = append(errs, errcode.ErrPermanent)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

func newError(kind error, permanent bool, cause error, format string, args ...any) *Error {
	return &Error{Kind: kind, Permanent: permanent, msg: fmt.Sprintf(format, args...), cause: cause}
}

// classify turns what the HTTP client returned for a request to host into
// an *Error.
func classify(host string, err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var (
		dnsErr  *net.DNSError
		certErr *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		hostErr x509.HostnameError
		invalid x509.CertificateInvalidError
		netErr  net.Error
	)
	switch {
	case errors.Is(err, ErrRedirect):
		switch {
		case errors.Is(err, errTooManyRedirects):
			return newError(ErrRedirect, true, err, "%s redirected more than %d times", host, maxRedirects)
		case errors.Is(err, ErrForbiddenAddress), errors.Is(err, ErrNumericHost):
			return newError(ErrRedirect, true, err, "%s redirected to a loopback, private, link-local or metadata address; such redirects are not followed", host)
		}
		return newError(ErrRedirect, true, err, "%s redirected to a URL that is not http(s) or carries credentials", host)
	case errors.Is(err, ErrNumericHost):
		return newError(ErrNumericHost, true, err, "the host %s is a number that is not a dotted-decimal address; such URLs are refused", host)
	case errors.Is(err, ErrForbiddenAddress):
		return newError(ErrForbiddenAddress, true, err, "the host %s resolves to a loopback, private, link-local or metadata address; such URLs are refused", host)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return newError(ErrHostNotFound, true, err, "the host %s was not found (DNS)", host)
		}
		return newError(ErrDNS, false, err, "the host %s could not be looked up (DNS); try again", host)
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid):
		return newError(ErrTLS, true, err, "the TLS certificate of %s is not valid", host)
	case errors.Is(err, context.Canceled):
		return err // not a failure of the fetch: the job was canceled
	case errors.Is(err, syscall.ECONNREFUSED):
		return newError(ErrUnreachable, false, err, "%s refused the connection", host)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return newError(ErrUnreachable, false, err, "%s did not answer in time", host)
	}
	return newError(ErrUnreachable, false, err, "the connection to %s failed", host)
}

// statusError is a non-2xx answer: 4xx fail the same way next time,
// except 408, 425 and 429; 5xx may not.
func statusError(host, status string, code int) error {
	permanent := code >= 400 && code < 500 && code != 408 && code != 425 && code != 429
	return newError(ErrStatus, permanent, nil, "%s answered HTTP %s", host, status)
}
