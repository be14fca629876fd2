package stickerd

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

func TestDownloadOutput(t *testing.T) {
	tests := []struct {
		name    string
		cfg     stickerdtest.Config
		resumed bool
	}{
		{"whole", stickerdtest.Config{OutputBytes: 300 << 10}, false},
		{"resumed after a broken connection", stickerdtest.Config{OutputBytes: 300 << 10, BreakOutputAfter: 100 << 10}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, c, _ := newFake(t, tt.cfg)
			j := submitted(t, c)
			if _, err := c.Wait(testCtx(t), j.ID, nil); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			n, err := c.DownloadOutput(testCtx(t), j.ID, &buf)
			if err != nil || n != int64(buf.Len()) || !bytes.Equal(buf.Bytes(), stickerdtest.OutputData(string(j.ID), tt.cfg.OutputBytes)) {
				t.Fatalf("n=%d len=%d err=%v", n, buf.Len(), err)
			}
			downloads := strings.Count(strings.Join(fake.Requests(), "\n"), "/output")
			if (downloads > 1) != tt.resumed {
				t.Fatalf("%d downloads, resumed want %v", downloads, tt.resumed)
			}
		})
	}
	t.Run("not finished", func(t *testing.T) {
		_, c, _ := newFake(t, stickerdtest.Config{Hold: true})
		j := submitted(t, c)
		if _, err := c.DownloadOutput(testCtx(t), j.ID, &bytes.Buffer{}); !IsStatus(err, http.StatusConflict) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("writer errors are not resumed", func(t *testing.T) {
		_, c, _ := newFake(t, stickerdtest.Config{})
		j := submitted(t, c)
		c.Wait(testCtx(t), j.ID, nil)
		full := errors.New("disk full")
		if _, err := c.DownloadOutput(testCtx(t), j.ID, failWriter{full}); !errors.Is(err, full) {
			t.Fatalf("err = %v", err)
		}
	})
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestDownloadOutput_RangeAnswers covers servers that answer a resume oddly.
func TestDownloadOutput_RangeAnswers(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 1000))
	tests := []struct {
		name   string
		resume func(w http.ResponseWriter, from int)
		ok     bool
	}{
		{"206 from the offset", func(w http.ResponseWriter, from int) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[from:])
		}, true},
		{"200 with the whole file", func(w http.ResponseWriter, from int) { w.Write(data) }, true},
		{"206 from elsewhere", func(w http.ResponseWriter, from int) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := true
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if first {
					first = false
					w.Header().Set("Content-Length", fmt.Sprint(len(data)))
					w.Write(data[:3000])
					panic(http.ErrAbortHandler)
				}
				var from int
				fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &from)
				tt.resume(w, from)
			}))
			defer srv.Close()
			c := New(srv.URL)
			c.sleep = (&sleeps{}).sleep
			var buf bytes.Buffer
			_, err := c.DownloadOutput(testCtx(t), "job_x", &buf)
			if ok := err == nil && bytes.Equal(buf.Bytes(), data); ok != tt.ok {
				t.Fatalf("ok = %v, err = %v, %d bytes", ok, err, buf.Len())
			}
		})
	}
}
