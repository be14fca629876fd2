package errcode

import (
	"net/http"
	"os"
	"regexp"
	"strconv"
	"testing"
)

// TestStatus_EveryCodeHasOne: a code added to the taxonomy without a row in
// the status table fails here instead of answering 500.
func TestStatus_EveryCodeHasOne(t *testing.T) {
	for _, c := range append(All(), HTTPOnly()...) {
		s, ok := statuses[c]
		if !ok {
			t.Errorf("%s has no HTTP status in the table", c)
			continue
		}
		if s < 400 || s > 599 {
			t.Errorf("Status(%s) = %d, not an error status", c, s)
		}
		if (s == http.StatusInternalServerError) != (c == Internal) {
			t.Errorf("Status(%s) = %d; only INTERNAL (a bug) is 500", c, s)
		}
	}
	if len(statuses) != len(All())+len(HTTPOnly()) {
		t.Errorf("the table has %d rows for %d codes", len(statuses), len(All())+len(HTTPOnly()))
	}
	for _, c := range HTTPOnly() {
		if c.Valid() {
			t.Errorf("%s is an HTTP code, not part of the taxonomy", c)
		}
	}
}

// TestStatus_Contract pins the statuses docs/api.md ("Error codes") names.
func TestStatus_Contract(t *testing.T) {
	want := map[Code]int{
		SpecInvalid: 400, Unauthorized: 401, AssetNotFound: 404, NotFound: 404, MethodNotAllowed: 405,
		Conflict: 409, AssetTooLarge: 413, AssetUnsupported: 422, AssetFetchFailed: 422, SourceUnreadable: 422,
		OutputTooLarge: 422, RTCNegotiationFailed: 422, RateLimited: 429, Internal: 500, FFmpegFailed: 502,
		FFmpegTimeout: 502, WebhookFailed: 502, QueueUnavailable: 503, StateStoreUnavailable: 503,
		StorageFailed: 503, EncoderUnavailable: 503, GPUError: 503, WorkerLost: 503, AttemptsExhausted: 503,
		RTCMediaFailed: 503, Canceled: 499, OutputGone: 410, SignatureInvalid: 403,
	}
	for c, s := range want {
		if got := Status(c); got != s {
			t.Errorf("Status(%s) = %d, want %d", c, got, s)
		}
	}
	if got := Status("NOPE"); got != 500 {
		t.Errorf("Status of an unknown code = %d, want 500", got)
	}
}

// TestStatus_MatchesTheDocs: docs/api.md's error tables name, for every
// code, the status of this table.
func TestStatus_MatchesTheDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Skip("no docs/api.md:", err)
	}
	row := regexp.MustCompile("(?m)^\\| `([A-Z_]+)` \\| (\\d{3}) \\|")
	seen := map[Code]bool{}
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		c, want := Code(m[1]), m[2]
		if _, ok := statuses[c]; !ok {
			continue // another table's row
		}
		seen[c] = true
		if got := strconv.Itoa(Status(c)); got != want {
			t.Errorf("docs/api.md gives %s status %s, the table %s", c, want, got)
		}
	}
	for c := range statuses {
		if !seen[c] {
			t.Errorf("docs/api.md's error tables lack %s", c)
		}
	}
}
