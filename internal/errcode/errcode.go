package errcode

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Code is one entry of the public error taxonomy. The set only grows.
type Code string

// The taxonomy of docs/api.md.
const (
	SpecInvalid           Code = "SPEC_INVALID"
	AssetNotFound         Code = "ASSET_NOT_FOUND"
	AssetFetchFailed      Code = "ASSET_FETCH_FAILED"
	AssetUnsupported      Code = "ASSET_UNSUPPORTED"
	AssetTooLarge         Code = "ASSET_TOO_LARGE"
	SourceUnreadable      Code = "SOURCE_UNREADABLE"
	FFmpegFailed          Code = "FFMPEG_FAILED"
	FFmpegTimeout         Code = "FFMPEG_TIMEOUT"
	EncoderUnavailable    Code = "ENCODER_UNAVAILABLE"
	GPUError              Code = "GPU_ERROR"
	OutputTooLarge        Code = "OUTPUT_TOO_LARGE"
	StorageFailed         Code = "STORAGE_FAILED"
	WorkerLost            Code = "WORKER_LOST"
	AttemptsExhausted     Code = "ATTEMPTS_EXHAUSTED"
	QueueUnavailable      Code = "QUEUE_UNAVAILABLE"
	StateStoreUnavailable Code = "STATE_STORE_UNAVAILABLE"
	RateLimited           Code = "RATE_LIMITED"
	Unauthorized          Code = "UNAUTHORIZED"
	WebhookFailed         Code = "WEBHOOK_FAILED"
	RTCNegotiationFailed  Code = "RTC_NEGOTIATION_FAILED"
	RTCMediaFailed        Code = "RTC_MEDIA_FAILED"
	Canceled              Code = "CANCELED"
	Internal              Code = "INTERNAL"
)

// All lists every code, in the order of docs/api.md.
func All() []Code {
	return []Code{SpecInvalid, AssetNotFound, AssetFetchFailed, AssetUnsupported,
		AssetTooLarge, SourceUnreadable, FFmpegFailed, FFmpegTimeout, EncoderUnavailable,
		GPUError, OutputTooLarge, StorageFailed, WorkerLost, AttemptsExhausted,
		QueueUnavailable, StateStoreUnavailable, RateLimited, Unauthorized, WebhookFailed,
		RTCNegotiationFailed, RTCMediaFailed, Canceled, Internal}
}

// Valid reports whether c is part of the taxonomy.
func (c Code) Valid() bool {
	for _, k := range All() {
		if k == c {
			return true
		}
	}
	return false
}

// FieldError names one invalid field by its JSON path, e.g.
// "stickers[1].keyframes[0].t".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a typed, user-safe error: Code and Message may be shown to a
// client; Cause is for logs only.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
	Cause   error
}

// New returns an *Error with a formatted message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error that keeps cause for errors.Is/As and logs.
func Wrap(code Code, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Cause: cause}
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	first := true
	for _, f := range e.Fields {
		text := f.Field + ": " + f.Message
		if strings.Contains(e.Message, text) {
			continue // the message already says it ("source: the file is empty")
		}
		if first {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		first = false
		b.WriteString(text)
	}
	if e.Cause != nil && e.Message == "" {
		b.WriteString(": ")
		b.WriteString(e.Cause.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Cause }

// Is makes errors.Is(err, errcode.New(code, "")) match on the code alone.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && t.Message == ""
	}
	return false
}

// Of returns the code carried by err, Canceled for context cancellation, and
// Internal for anything untyped. A nil error has no code ("").
func Of(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) {
		return Canceled
	}
	return Internal
}

// ErrPermanent marks a cause that fails the same way on every attempt: a
// host that does not exist, a 4xx answer, a refused address. Wrap or join
// it into an error (fmt.Errorf("%w", …), errors.Join, an Unwrap method)
// and Permanent reports true, so that a code that is worth retrying in
// general (ASSET_FETCH_FAILED) fails the job at once in this case.
var ErrPermanent = errors.New("permanent failure")

// Permanent reports whether err is marked with ErrPermanent.
func Permanent(err error) bool { return errors.Is(err, ErrPermanent) }
