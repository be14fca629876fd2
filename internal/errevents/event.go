package errevents

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/stickerd/stickerd/internal/errcode"
)

// Event is one typed error, as published on stickerd.errors. Every field is
// always present on the wire; IDs that do not apply are empty strings.
type Event struct {
	// Service is the role that saw the error: one of Services().
	Service string `json:"service"`
	// Code is from the taxonomy of docs/api.md.
	Code errcode.Code `json:"code"`
	// JobID or SessionID name what failed, when anything did.
	JobID     string `json:"job_id"`
	SessionID string `json:"session_id"`
	Tenant    string `json:"tenant"`
	// Message is for operators (the topic is internal): the error's full
	// text, causes included, cut to MaxMessageBytes.
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

// MaxMessageBytes bounds Event.Message, so one runaway error (an ffmpeg
// stderr dump) cannot bloat the topic.
const MaxMessageBytes = 2048

// Unknown is the service label for a name outside Services(), so the
// label set of stickerd_errors_total stays bounded.
const Unknown = "unknown"

// Services lists the service names an Event may carry: the stickerd
// subcommands that report errors.
func Services() []string {
	return []string{"gateway", "scheduler", "worker", "edge", "kv", "monitor", "dev"}
}

// KnownService reports whether s is one of Services().
func KnownService(s string) bool { return slices.Contains(Services(), s) }

// BoundedService returns s if it is one of Services(), and Unknown otherwise.
func BoundedService(s string) string {
	if KnownService(s) {
		return s
	}
	return Unknown
}

// BoundedCode returns c if it is in the taxonomy, and errcode.Internal
// otherwise, so metric labels only ever carry taxonomy codes.
func BoundedCode(c errcode.Code) errcode.Code {
	if c.Valid() {
		return c
	}
	return errcode.Internal
}

// FromError builds the Event for err seen by service, with the job, the
// realtime session and the tenant it concerns (empty when none). The code is
// errcode.Of(err): a typed error keeps its code, context cancellation is
// CANCELED and anything else INTERNAL. A nil err gives the zero Event, which
// Publisher.Report ignores, so `p.Report(ctx, FromError(...))` is safe on
// every return path.
func FromError(service string, err error, jobID, sessionID, tenant string) Event {
	if err == nil {
		return Event{}
	}
	return Event{
		Service:   service,
		Code:      errcode.Of(err),
		JobID:     jobID,
		SessionID: sessionID,
		Tenant:    tenant,
		Message:   truncate(err.Error(), MaxMessageBytes),
		Time:      time.Now().UTC(),
	}
}

// Key is the Kafka key of the event: the job id, else the session id, else
// the service, so one job's (or session's) errors stay in order on one
// partition.
func (e Event) Key() string {
	switch {
	case e.JobID != "":
		return e.JobID
	case e.SessionID != "":
		return e.SessionID
	}
	return e.Service
}

// Marshal encodes the event as the JSON of stickerd.errors.
func (e Event) Marshal() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("errevents: marshal: %w", err)
	}
	return b, nil
}

// Parse decodes one stickerd.errors message. It checks the shape only; the
// caller decides what to do with unknown services or codes (BoundedService,
// BoundedCode).
func Parse(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("errevents: parse: %w", err)
	}
	if e.Code == "" {
		return Event{}, errors.New("errevents: parse: event has no code")
	}
	return e, nil
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
