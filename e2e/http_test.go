package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// problem is the RFC 9457 body of every error answer.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// names reports whether the problem lists field among its errors.
func (p problem) names(field string) bool {
	return slices.ContainsFunc(p.Errors, func(f struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	}) bool {
		return f.Field == field
	})
}

// do sends one request; header is name, value pairs.
func do(t *testing.T, method, url string, body io.Reader, header ...string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// postJSON posts a render request.
func postJSON(t *testing.T, url, body string, header ...string) *http.Response {
	t.Helper()
	return do(t, http.MethodPost, url+"/v1/renders", strings.NewReader(body), append([]string{"Content-Type", "application/json"}, header...)...)
}

// checkProblem reads a problem answer and checks its status and code.
func checkProblem(t *testing.T, resp *http.Response, status int, code string) problem {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", resp.Header.Get("Content-Type"))
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("problem body %s: %v", body, err)
	}
	if p.Status != status || (code != "" && p.Code != code) {
		t.Fatalf("problem %+v, want status %d code %s", p, status, code)
	}
	return p
}

// decode reads a JSON answer of the given status into v (when not nil).
func decode(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("answer %s: %v", body, err)
		}
	}
}

// retryAfter checks that a 429 or 503 says when to come back.
func retryAfter(t *testing.T, resp *http.Response) {
	t.Helper()
	var secs int
	if _, err := fmt.Sscanf(resp.Header.Get("Retry-After"), "%d", &secs); err != nil || secs < 1 {
		t.Fatalf("%d without a usable Retry-After (%q)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// apiStatus is the HTTP status of an SDK error (0 when it is not an API error).
func apiStatus(err error) int {
	var ae *stickerd.APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// waitJob follows a job to its end through the SDK and returns it.
func waitJob(t *testing.T, c *stickerd.Client, id stickerd.JobID, d time.Duration) *stickerd.Job {
	t.Helper()
	j, err := c.Wait(testCtx(t, d), id, nil)
	if err != nil {
		t.Fatalf("waiting for %s: %v", id, err)
	}
	return j
}

// submit submits a spec through the SDK and fails the test on an error.
func submit(t *testing.T, c *stickerd.Client, spec string, opts ...stickerd.SubmitOption) (*stickerd.Job, bool) {
	t.Helper()
	j, cached, err := c.SubmitRender(testCtx(t, 30*time.Second), spec, opts...)
	if err != nil {
		t.Fatalf("submitting: %v", err)
	}
	return j, cached
}

// canvasSpec is a small, fast render; nonce makes it unlike any other
// request so that the result cache does not answer it.
func canvasSpec(nonce string, extra string) string {
	return fmt.Sprintf(`{"source":{"color":"#0000FF","width":160,"height":120,"duration":1,"fps":10},
		"stickers":[{"type":"image","builtin":"heart","width":0.5}],"metadata":{"nonce":%q}%s}`, nonce, extra)
}

// uniq is a nonce for canvasSpec.
func uniq(t *testing.T) string {
	return fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
}
