package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// specSign computes a signature straight from the spec's definition,
// independently of sign: base64(HMAC-SHA256(base64decode(secret without
// "whsec_"), "<id>.<timestamp>.<body>")).
func specSign(t *testing.T, secret, id string, unix int64, body string) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, unix, body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSign_KnownVectors(t *testing.T) {
	tests := []struct {
		name, secret, id string
		unix             int64
		body, want       string
	}{
		// The test vector published with the Standard Webhooks reference
		// libraries.
		{"published vector", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
			1614265330, `{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"secret without prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
			1614265330, `{"test": 2432232314}`, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"a job body", "whsec_" + base64.StdEncoding.EncodeToString([]byte("stickerd-test-secret-0123456789")),
			"job_01HZX.succeeded", 1760000000, `{"id":"job_01HZX","status":"succeeded","progress":1}`, ""},
		{"empty body", "whsec_c2VjcmV0", "msg_1", 0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = specSign(t, tt.secret, tt.id, tt.unix, tt.body)
			}
			got, err := Sign(tt.secret, tt.id, time.Unix(tt.unix, 0), []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("Sign = %s, want %s", got, want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, secret string
		wantErr      bool
	}{
		{"generated", NewSecret(), false},
		{"short", "whsec_c2VjcmV0", false},
		{"empty key", "whsec_", true},
		{"not base64", "whsec_not base64!", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecret(tt.secret)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrInvalidSecret)) {
				t.Fatalf("ParseSecret = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	other := NewSecret()
	now := time.Unix(1_760_000_000, 0)
	body := []byte(`{"id":"job_1","status":"succeeded"}`)
	headers := func(id string, ts time.Time, sigs ...string) http.Header {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, fmt.Sprint(ts.Unix()))
		h.Set(HeaderSignature, strings.Join(sigs, " "))
		return h
	}
	good := specSign(t, secret, "msg_1", now.Unix(), string(body))
	tests := []struct {
		name    string
		headers http.Header
		body    []byte
		want    error
	}{
		{"valid", headers("msg_1", now, good), body, nil},
		{"valid within tolerance", headers("msg_1", now.Add(-4*time.Minute),
			specSign(t, secret, "msg_1", now.Add(-4*time.Minute).Unix(), string(body))), body, nil},
		{"rotation: second signature matches", headers("msg_1", now, specSign(t, other, "msg_1", now.Unix(), string(body)), good), body, nil},
		{"tampered body", headers("msg_1", now, good), []byte(`{"id":"job_1","status":"failed"}`), ErrInvalidSignature},
		{"tampered id", headers("msg_2", now, good), body, ErrInvalidSignature},
		{"tampered timestamp", headers("msg_1", now.Add(time.Second), good), body, ErrInvalidSignature},
		{"other secret", headers("msg_1", now, specSign(t, other, "msg_1", now.Unix(), string(body))), body, ErrInvalidSignature},
		{"unknown version only", headers("msg_1", now, "v1a,"+strings.TrimPrefix(good, "v1,")), body, ErrInvalidSignature},
		{"stale timestamp", headers("msg_1", now.Add(-6*time.Minute),
			specSign(t, secret, "msg_1", now.Add(-6*time.Minute).Unix(), string(body))), body, ErrInvalidTimestamp},
		{"future timestamp", headers("msg_1", now.Add(6*time.Minute),
			specSign(t, secret, "msg_1", now.Add(6*time.Minute).Unix(), string(body))), body, ErrInvalidTimestamp},
		{"timestamp not a number", func() http.Header {
			h := headers("msg_1", now, good)
			h.Set(HeaderTimestamp, "yesterday")
			return h
		}(), body, ErrInvalidTimestamp},
		{"missing signature", func() http.Header {
			h := headers("msg_1", now, good)
			h.Del(HeaderSignature)
			return h
		}(), body, ErrMissingHeaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyAt(now, secret, tt.headers, tt.body, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("public Verify uses the real clock", func(t *testing.T) {
		ts := time.Now()
		h := headers("msg_1", ts, specSign(t, secret, "msg_1", ts.Unix(), string(body)))
		if err := Verify(secret, h, body, 0); err != nil {
			t.Fatal(err)
		}
	})
}
