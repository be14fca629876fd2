package assets

import (
	"crypto/rand"
	"fmt"
	"regexp"
	"time"
)

// Kind is what an asset is used for in a spec.
type Kind string

// The kinds of docs/api.md: animated images are "image" too (their
// Duration is set).
const (
	KindVideo Kind = "video"
	KindImage Kind = "image"
	KindFont  Kind = "font"
)

// Asset is the record of one uploaded file. The bytes live in the blob store
// at blob.AssetKey(Tenant, ID).
type Asset struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	Kind        Kind      `json:"kind"`
	ContentType string    `json:"content_type"`
	Bytes       int64     `json:"bytes"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	Duration    float64   `json:"duration"`
	Animated    bool      `json:"animated,omitempty"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

var (
	idPattern     = regexp.MustCompile(`^ast_[A-Za-z0-9_-]{1,64}$`)
	tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

// CheckTenant refuses a tenant name that cannot be a blob-key segment: one
// to 64 letters, digits, '.', '_' or '-', not starting with a punctuation
// character. API-key files are checked with it, so that every tenant the
// gateway knows can own assets.
func CheckTenant(tenant string) error {
	if !tenantPattern.MatchString(tenant) {
		return fmt.Errorf("%w: tenant %q must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid, tenant)
	}
	return nil
}

// ValidID reports whether id has the form of an asset id (the spec parser
// accepts the same form).
func ValidID(id string) bool { return idPattern.MatchString(id) }

const base32 = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns a fresh random asset id: "ast_" and 26 base32 characters.
func NewID() string {
	b := make([]byte, 26)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	for i, v := range b {
		b[i] = base32[v&31]
	}
	return "ast_" + string(b)
}
