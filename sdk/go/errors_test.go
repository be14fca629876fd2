package stickerd

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

func TestClient_Errors(t *testing.T) {
	_, c, _ := newFake(t, stickerdtest.Config{APIKey: "secret"})
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream went away", http.StatusBadGateway)
	}))
	t.Cleanup(plain.Close)
	tests := []struct {
		name   string
		call   func() error
		status int
		code   string
		fields []string
	}{
		{"invalid spec", func() error {
			_, _, err := c.SubmitRender(testCtx(t), `{"source":{"color":"#000000","width":64,"height":64,"duration":1},
				"stickers":[{"type":"image","builtin":"star","x":7,"colour":"red"}]}`)
			return err
		}, 400, "SPEC_INVALID", []string{"stickers[0].colour", "stickers[0].x"}},
		{"unknown asset", func() error {
			_, _, err := c.SubmitRender(testCtx(t), `{"source":{"asset_id":"ast_nope"},"stickers":[{"type":"text","text":"hi"}]}`)
			return err
		}, 422, "ASSET_NOT_FOUND", []string{"source.asset_id"}},
		{"no such job", func() error { _, err := c.GetRender(testCtx(t), "job_missing"); return err }, 404, "NOT_FOUND", nil},
		{"wrong key", func() error {
			_, err := New(c.BaseURL, WithAPIKey("guess")).Stickers(testCtx(t))
			return err
		}, 401, "UNAUTHORIZED", nil},
		{"not problem+json", func() error { _, err := New(plain.URL).Stickers(testCtx(t)); return err }, 502, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code {
				t.Fatalf("err = %#v, want status %d code %q", err, tt.status, tt.code)
			}
			var got []string
			for _, f := range ae.Fields {
				got = append(got, f.Field)
			}
			for _, want := range tt.fields {
				if !strings.Contains(strings.Join(got, " "), want) || !strings.Contains(ae.Error(), want) {
					t.Errorf("fields %v lack %s; Error() = %s", got, want, ae.Error())
				}
			}
			if tt.status == 502 && !strings.Contains(ae.Error(), "upstream went away") {
				t.Errorf("plain body lost: %s", ae.Error())
			}
		})
	}
}

func TestClient_Retries(t *testing.T) {
	key := SubmitOption{IdempotencyKey: "k"}
	tests := []struct {
		name      string
		cfg       stickerdtest.Config
		client    func(*Client)
		call      func(*Client) error
		wantErr   int // status of the *APIError, 0 for success
		wantSleep []time.Duration
	}{
		{"keyed submit waits out Retry-After", stickerdtest.Config{UnavailableSubmits: 2, RetryAfter: 3}, nil,
			func(c *Client) error { _, _, err := c.SubmitRender(testCtx(t), canvasSpec, key); return err },
			0, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"keyed submit backs off without Retry-After", stickerdtest.Config{UnavailableSubmits: 2}, nil,
			func(c *Client) error { _, _, err := c.SubmitRender(testCtx(t), canvasSpec, key); return err },
			0, []time.Duration{250 * time.Millisecond, 500 * time.Millisecond}},
		{"submit without a key is sent once", stickerdtest.Config{UnavailableSubmits: 1, RetryAfter: 1}, nil,
			func(c *Client) error { _, _, err := c.SubmitRender(testCtx(t), canvasSpec); return err },
			503, nil},
		{"retries are bounded", stickerdtest.Config{UnavailableSubmits: 9, RetryAfter: 1}, nil,
			func(c *Client) error { _, _, err := c.SubmitRender(testCtx(t), canvasSpec, key); return err },
			503, []time.Duration{time.Second, time.Second, time.Second}},
		{"too long a Retry-After is returned", stickerdtest.Config{UnavailableSubmits: 1, RetryAfter: 120}, nil,
			func(c *Client) error { _, _, err := c.SubmitRender(testCtx(t), canvasSpec, key); return err },
			503, nil},
		{"no retries when switched off", stickerdtest.Config{UnavailableSubmits: 1}, func(c *Client) { c.MaxRetries = -1 },
			func(c *Client) error { _, _, err := c.SubmitRender(testCtx(t), canvasSpec, key); return err },
			503, nil},
		{"GET retried on 429", stickerdtest.Config{ThrottledGets: 1, RetryAfter: 2}, nil,
			func(c *Client) error {
				j := submitted(t, c)
				_, err := c.GetRender(testCtx(t), j.ID)
				return err
			}, 0, []time.Duration{2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c, slept := newFake(t, tt.cfg)
			if tt.client != nil {
				tt.client(c)
			}
			err := tt.call(c)
			switch {
			case tt.wantErr == 0 && err != nil:
				t.Fatal(err)
			case tt.wantErr != 0 && !IsStatus(err, tt.wantErr):
				t.Fatalf("err = %v, want status %d", err, tt.wantErr)
			}
			if got := slept.all(); !reflect.DeepEqual(got, tt.wantSleep) {
				t.Fatalf("slept %v, want %v", got, tt.wantSleep)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"7", 7 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
