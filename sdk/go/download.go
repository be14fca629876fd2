package stickerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxResumes bounds how often a broken download is resumed.
const maxResumes = 5

// DownloadOutput writes the job's output file to w and returns the number
// of bytes written. A connection that breaks mid-file is resumed with a
// Range request from where it stopped (If-Range keeps the pieces from two
// different files apart). A job that has not succeeded answers 409, an
// *APIError.
func (c *Client) DownloadOutput(ctx context.Context, id JobID, w io.Writer) (int64, error) {
	var written int64
	var validator string // ETag or Last-Modified of the first answer
	for resumes := 0; ; resumes++ {
		req := c.get(jobPath(id, "/output"))
		req.header = http.Header{"Accept": {"*/*"}}
		if written > 0 {
			req.header.Set("Range", "bytes="+strconv.FormatInt(written, 10)+"-")
			if validator != "" {
				req.header.Set("If-Range", validator)
			}
		}
		resp, err := c.send(ctx, req)
		if err != nil {
			return written, err
		}
		if validator == "" {
			validator = resp.Header.Get("ETag")
			if validator == "" || strings.HasPrefix(validator, "W/") {
				validator = resp.Header.Get("Last-Modified")
			}
		}
		body := io.Reader(resp.Body)
		if written > 0 {
			skip, err := resumeOffset(resp, written, validator != "")
			if err != nil {
				resp.Body.Close()
				return written, err
			}
			if skip > 0 { // the whole file again: drop what we have
				if _, err := io.CopyN(io.Discard, resp.Body, skip); err != nil {
					resp.Body.Close()
					return written, c.broken(ctx, resumes, err)
				}
			}
		}
		n, err := io.Copy(markedWriter{w}, body)
		resp.Body.Close()
		written += n
		if err == nil {
			return written, nil
		}
		var we *writeError
		if errors.As(err, &we) || ctx.Err() != nil {
			return written, err
		}
		if err := c.broken(ctx, resumes, err); err != nil {
			return written, err
		}
	}
}

// broken decides whether a broken transfer is resumed.
func (c *Client) broken(ctx context.Context, resumes int, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if resumes >= maxResumes {
		return fmt.Errorf("stickerd: download broke %d times: %w", resumes+1, err)
	}
	return c.wait(ctx, retryBackoff.Delay(resumes+1))
}

// resumeOffset checks the answer to a Range request from written: 206 from
// exactly there (0 to skip), or 200 with the whole file (skip written) from
// a server that ignores Range. A 200 to an If-Range means another file.
func resumeOffset(resp *http.Response, written int64, ifRange bool) (int64, error) {
	switch {
	case resp.StatusCode == http.StatusOK && ifRange:
		return 0, errors.New("stickerd: the output changed during the download")
	case resp.StatusCode == http.StatusOK:
		return written, nil
	case resp.StatusCode == http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range") // "bytes 100-199/200"
		spec, _, _ := strings.Cut(strings.TrimPrefix(cr, "bytes "), "/")
		first, _, _ := strings.Cut(spec, "-")
		if start, err := strconv.ParseInt(first, 10, 64); err == nil && start == written {
			return 0, nil
		}
		return 0, fmt.Errorf("stickerd: resumed download from byte %d got Content-Range %q", written, cr)
	}
	return 0, fmt.Errorf("stickerd: resumed download: unexpected status %d", resp.StatusCode)
}

// writeError marks a failure of the caller's writer, which is never resumed.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// markedWriter wraps the caller's writer so that its errors are told apart
// from a broken connection.
type markedWriter struct{ w io.Writer }

func (m markedWriter) Write(p []byte) (int, error) {
	n, err := m.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}
