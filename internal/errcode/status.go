package errcode

import "net/http"

// Codes for conditions that belong to HTTP rather than to the rendering
// taxonomy: no such resource or route, a method the route lacks, a request
// that conflicts with a resource's state. They appear only in problem
// responses (of the gateway and the edge alike); they are not in All, and
// label no error event, metric or alert.
const (
	NotFound         Code = "NOT_FOUND"
	MethodNotAllowed Code = "METHOD_NOT_ALLOWED"
	Conflict         Code = "CONFLICT"
	// OutputGone: the job's output was deleted, by request or because its
	// retention ran out; the job record stays.
	OutputGone Code = "OUTPUT_GONE"
	// SignatureInvalid: a signed output link whose signature does not
	// match, or that has expired.
	SignatureInvalid Code = "SIGNATURE_INVALID"
)

// HTTPOnly lists the codes that belong to HTTP (NotFound, MethodNotAllowed,
// Conflict, OutputGone, SignatureInvalid).
func HTTPOnly() []Code {
	return []Code{NotFound, MethodNotAllowed, Conflict, OutputGone, SignatureInvalid}
}

// StatusClientClosedRequest is the status of CANCELED: the client went away
// and nobody reads the answer (nginx's 499). It only appears in logs.
const StatusClientClosedRequest = 499

// statuses is the one table from a code to its HTTP status, for every
// process that answers HTTP (the gateway and the edge). The rule:
//
//   - 400: the request itself is malformed or breaks a rule (SPEC_INVALID).
//   - 401: no valid credentials; 403: a signed link that is not valid
//     (SIGNATURE_INVALID).
//   - 404, 405, 409, 410: the HTTP codes.
//   - 413: something is over a size limit.
//   - 422: a well-formed request that names or carries something that
//     cannot be used: an asset, a source, an offer that cannot be
//     negotiated.
//   - 429: the client is over its own limit; 503: the service cannot take
//     the request now (both with Retry-After).
//   - 502: a tool or peer the service drives failed; 499: the client went
//     away; 500: INTERNAL only, a bug.
//
// A problem may pin another status only where HTTP itself is the issue: 413
// and 415 for a body too large or of the wrong media type, 403 for an
// UNAUTHORIZED request refused for where it comes from rather than for its
// key, and 422 for an ASSET_NOT_FOUND a render request names.
var statuses = map[Code]int{
	SpecInvalid:           http.StatusBadRequest,
	AssetNotFound:         http.StatusNotFound,
	AssetFetchFailed:      http.StatusUnprocessableEntity,
	AssetUnsupported:      http.StatusUnprocessableEntity,
	AssetTooLarge:         http.StatusRequestEntityTooLarge,
	SourceUnreadable:      http.StatusUnprocessableEntity,
	FFmpegFailed:          http.StatusBadGateway,
	FFmpegTimeout:         http.StatusBadGateway,
	EncoderUnavailable:    http.StatusServiceUnavailable,
	GPUError:              http.StatusServiceUnavailable,
	OutputTooLarge:        http.StatusUnprocessableEntity,
	StorageFailed:         http.StatusServiceUnavailable,
	WorkerLost:            http.StatusServiceUnavailable,
	AttemptsExhausted:     http.StatusServiceUnavailable,
	QueueUnavailable:      http.StatusServiceUnavailable,
	StateStoreUnavailable: http.StatusServiceUnavailable,
	RateLimited:           http.StatusTooManyRequests,
	Unauthorized:          http.StatusUnauthorized,
	WebhookFailed:         http.StatusBadGateway,
	RTCNegotiationFailed:  http.StatusUnprocessableEntity,
	RTCMediaFailed:        http.StatusServiceUnavailable,
	Canceled:              StatusClientClosedRequest,
	Internal:              http.StatusInternalServerError,

	NotFound:         http.StatusNotFound,
	MethodNotAllowed: http.StatusMethodNotAllowed,
	Conflict:         http.StatusConflict,
	OutputGone:       http.StatusGone,
	SignatureInvalid: http.StatusForbidden,
}

// Status is the HTTP status of code; a code outside the table is a bug and
// answers 500.
func Status(code Code) int {
	if s, ok := statuses[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}
