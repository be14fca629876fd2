package templates

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"
)

// Errors of a Store. An outage is jobstore.ErrUnavailable, as for jobs.
var (
	// ErrNotFound: the tenant has no such template, or no such version.
	ErrNotFound = errors.New("templates: not found")
	// ErrInvalid: a malformed id or cursor.
	ErrInvalid = errors.New("templates: invalid request")
)

// Listing limits.
const (
	DefaultListLimit = 20
	MaxListLimit     = 100
)

// Store keeps the versions of each tenant's templates. A tenant never
// sees another's: another tenant's template is ErrNotFound.
type Store interface {
	// Create stores t as version 1 of a new template (t.ID unused),
	// stamping its times.
	Create(ctx context.Context, t *Template) (*Template, error)
	// Get returns a version, the latest when version is 0.
	Get(ctx context.Context, tenant, id string, version int) (*Template, error)
	// Update stores d as the next version of the template.
	Update(ctx context.Context, tenant, id string, d Definition) (*Template, error)
	// Delete removes the template and every version of it.
	Delete(ctx context.Context, tenant, id string) error
	// List returns the latest version of a tenant's templates, newest
	// first, and the cursor of the next page ("" on the last).
	List(ctx context.Context, tenant string, o ListOptions) ([]*Template, string, error)
}

// ListOptions pages a listing.
type ListOptions struct {
	// Limit is the page size: DefaultListLimit when 0, at most MaxListLimit.
	Limit int
	// Cursor is the previous page's next cursor.
	Cursor string
}

func (o ListOptions) limit() int {
	if o.Limit <= 0 {
		return DefaultListLimit
	}
	return min(o.Limit, MaxListLimit)
}

// indexSuffix orders a tenant's templates newest first.
func indexSuffix(created time.Time, id string) string {
	nanos := max(created.UnixNano(), 0)
	return fmt.Sprintf("%019d_%s", math.MaxInt64-nanos, id)
}

var suffixPattern = regexp.MustCompile(`^[0-9]{19}_tpl_[0-9a-z]{1,64}$`)

func encodeCursor(suffix string) string { return base64.RawURLEncoding.EncodeToString([]byte(suffix)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !suffixPattern.Match(b) {
		return "", fmt.Errorf("%w: cursor %q", ErrInvalid, c)
	}
	return string(b), nil
}

func checkRef(tenant, id string) error {
	if tenant == "" || !ValidID(id) {
		return fmt.Errorf("%w: template %q", ErrNotFound, id)
	}
	return nil
}

func notFound(id string, version int) error {
	if version > 0 {
		return fmt.Errorf("%w: %s version %d", ErrNotFound, id, version)
	}
	return fmt.Errorf("%w: %s", ErrNotFound, id)
}
