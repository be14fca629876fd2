package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock
// when Verify is given no tolerance; the spec's libraries use 5 minutes.
const DefaultTolerance = 5 * time.Minute

const secretPrefix = "whsec_"

// NewSecret returns a fresh random secret, "whsec_" and 32 bytes in
// base64, for an operator to configure.
func NewSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ParseSecret returns the HMAC key of a "whsec_<base64>" secret.
func ParseSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64 after %q", ErrInvalidSecret, secretPrefix)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	return key, nil
}

// Sign returns the "v1,<base64>" signature of one message: HMAC-SHA256
// keyed by the secret's bytes over id + "." + unix seconds + "." + body.
func Sign(secret, id string, timestamp time.Time, body []byte) (string, error) {
	key, err := ParseSecret(secret)
	if err != nil {
		return "", err
	}
	return sign(key, id, timestamp.Unix(), body), nil
}

func sign(key []byte, id string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verify checks a received webhook: the headers must be present, the
// timestamp within tolerance of now (DefaultTolerance when tolerance is
// 0), and one of the space-separated signatures must be secret's. Pass the
// body exactly as received: a re-encoded JSON body does not verify.
func Verify(secret string, headers http.Header, body []byte, tolerance time.Duration) error {
	return verifyAt(time.Now(), secret, headers, body, tolerance)
}

func verifyAt(now time.Time, secret string, headers http.Header, body []byte, tolerance time.Duration) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	id, ts, sigs := headers.Get(HeaderID), headers.Get(HeaderTimestamp), headers.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not unix seconds", ErrInvalidTimestamp, ts)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if skew := now.Sub(time.Unix(unix, 0)).Abs(); skew > tolerance {
		return fmt.Errorf("%w: %s away from now, tolerance %s", ErrInvalidTimestamp, skew.Truncate(time.Second), tolerance)
	}
	want := []byte(sign(key, id, unix, body))
	for _, got := range strings.Fields(sigs) {
		// Other versions (v1a, asymmetric) are skipped, as the spec says.
		if strings.HasPrefix(got, "v1,") && hmac.Equal([]byte(got), want) {
			return nil
		}
	}
	return ErrInvalidSignature
}
