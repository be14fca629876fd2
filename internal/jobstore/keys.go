package jobstore

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/jobs"
)

// DefaultPrefix is the key prefix New uses for an empty prefix.
const DefaultPrefix = "/stickerd"

// Prefix is prefix without a trailing slash, DefaultPrefix when empty:
// the root every store of the project keeps its keys under.
func Prefix(prefix string) string {
	if prefix = strings.TrimSuffix(prefix, "/"); prefix == "" {
		return DefaultPrefix
	}
	return prefix
}

// keys is the layout of a store's records under its prefix:
//
//	<prefix>/jobs/<id>                                  the job, JSON
//	<prefix>/tenants/<tenant>/jobs/<inverted>_<id>      index entry, value <id>
//	<prefix>/queued/<id>                                present while the job is queued
//
// <inverted> is MaxInt64 minus the creation time in Unix nanoseconds,
// zero-padded to 19 digits, so a tenant's entries sort newest first. The
// tenant is path-escaped, so that tenant "a" never lists the jobs of a
// tenant named "a/jobs".
type keys struct{ prefix string }

func (k keys) jobs() string             { return k.prefix + "/jobs/" }
func (k keys) job(id jobs.ID) string    { return k.jobs() + string(id) }
func (k keys) root() string             { return k.prefix }
func (k keys) pending() string          { return k.prefix + "/queued/" }
func (k keys) queued(id jobs.ID) string { return k.pending() + string(id) }
func (k keys) tenant(t string) string   { return k.prefix + "/tenants/" + url.PathEscape(t) + "/jobs/" }

func (k keys) index(j *jobs.Job) string {
	return k.tenant(j.Tenant) + indexSuffix(j.CreatedAt, j.ID)
}

func indexSuffix(created time.Time, id jobs.ID) string {
	nanos := created.UnixNano()
	if nanos < 0 {
		nanos = 0
	}
	return fmt.Sprintf("%019d_%s", math.MaxInt64-nanos, id)
}

// idFromJobKey returns the id of a <prefix>/jobs/<id> key.
func (k keys) idFromJobKey(key []byte) jobs.ID {
	return jobs.ID(strings.TrimPrefix(string(key), k.jobs()))
}

func checkID(id jobs.ID) error {
	if id == "" || strings.ContainsAny(string(id), "/\x00") {
		return fmt.Errorf("%w: job id %q", ErrInvalid, id)
	}
	return nil
}

var suffixPattern = regexp.MustCompile(`^[0-9]{19}_[^/\x00]+$`)

// encodeCursor makes the opaque cursor that resumes a listing after the
// index entry suffix.
func encodeCursor(suffix string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(suffix))
}

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !suffixPattern.Match(b) {
		return "", fmt.Errorf("%w: cursor %q", ErrInvalid, c)
	}
	return string(b), nil
}
