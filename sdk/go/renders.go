package stickerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
)

// UploadAsset uploads a file (video, image or font) as the multipart field
// "file" of POST /v1/assets. Uploads are not retried: r is read once. When
// r's length can be told (a file, a bytes or strings reader) it is sent as
// Content-Length, so that the server can refuse a file over its limit at once.
func (c *Client) UploadAsset(ctx context.Context, filename string, r io.Reader) (*Asset, error) {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	if _, err := mw.CreateFormFile("file", filepath.Base(filename)); err != nil {
		return nil, fmt.Errorf("stickerd: %w", err)
	}
	n := head.Len()
	mw.Close() // writes "\r\n--boundary--\r\n", which goes after the file
	trailer := head.Bytes()[n:]
	req := request{method: http.MethodPost, path: "/v1/assets", contentType: mw.FormDataContentType(),
		stream: io.MultiReader(bytes.NewReader(head.Bytes()[:n]), r, bytes.NewReader(trailer))}
	if size := lengthOf(r); size >= 0 {
		req.length = int64(n) + size + int64(len(trailer))
	}
	var a Asset
	if _, err := c.sendJSON(ctx, req, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// UploadAssetRaw uploads r as the raw body of POST /v1/assets, with its
// Content-Type (e.g. "video/mp4", "image/png", "font/ttf").
func (c *Client) UploadAssetRaw(ctx context.Context, contentType string, r io.Reader) (*Asset, error) {
	var a Asset
	_, err := c.sendJSON(ctx, request{method: http.MethodPost, path: "/v1/assets", stream: r,
		length: lengthOf(r), contentType: contentType}, &a)
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// lengthOf returns how many bytes are left in r, or -1 when it cannot tell.
func lengthOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case io.Seeker:
		cur, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		end, err := v.Seek(0, io.SeekEnd)
		if _, err2 := v.Seek(cur, io.SeekStart); err != nil || err2 != nil {
			return -1
		}
		return end - cur
	}
	return -1
}

// SubmitOption tunes SubmitRender.
type SubmitOption struct {
	// IdempotencyKey makes the submit safe to repeat: the same key with the
	// same body returns the same job. Only a keyed submit is retried on 429
	// and 503.
	IdempotencyKey string
}

// SubmitRender submits a render request. spec is a json.RawMessage, []byte
// or string holding the JSON, or any value that encodes to it. cached is
// true when the server answered 200 with a job that an identical request
// already rendered, false for a newly accepted job (202).
func (c *Client) SubmitRender(ctx context.Context, spec any, opts ...SubmitOption) (job *Job, cached bool, err error) {
	var body []byte
	switch s := spec.(type) {
	case json.RawMessage:
		body = s
	case []byte:
		body = s
	case string:
		body = []byte(s)
	default:
		if body, err = json.Marshal(spec); err != nil {
			return nil, false, fmt.Errorf("stickerd: encoding the spec: %w", err)
		}
	}
	req := request{method: http.MethodPost, path: "/v1/renders", body: body, contentType: "application/json"}
	for _, o := range opts {
		if o.IdempotencyKey != "" {
			req.header = http.Header{"Idempotency-Key": {o.IdempotencyKey}}
			req.retry = true
		}
	}
	job = new(Job)
	status, err := c.sendJSON(ctx, req, job)
	if err != nil {
		return nil, false, err
	}
	return job, status == http.StatusOK, nil
}

// GetRender returns the job.
func (c *Client) GetRender(ctx context.Context, id JobID) (*Job, error) {
	var j Job
	if _, err := c.sendJSON(ctx, c.get(jobPath(id, "")), &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// CancelRender cancels a job (a running ffmpeg is stopped) and returns it.
// A job that already ended answers 409, an *APIError.
func (c *Client) CancelRender(ctx context.Context, id JobID) (*Job, error) {
	var j Job
	if _, err := c.sendJSON(ctx, request{method: http.MethodDelete, path: jobPath(id, "")}, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// ListRenders returns one page of the tenant's jobs, newest first.
func (c *Client) ListRenders(ctx context.Context, opt ListOptions) (*JobList, error) {
	req := c.get("/v1/renders")
	req.query = url.Values{}
	if opt.Status != "" {
		req.query.Set("status", string(opt.Status))
	}
	if opt.Limit > 0 {
		req.query.Set("limit", strconv.Itoa(opt.Limit))
	}
	if opt.Cursor != "" {
		req.query.Set("cursor", opt.Cursor)
	}
	var l JobList
	if _, err := c.sendJSON(ctx, req, &l); err != nil {
		return nil, err
	}
	return &l, nil
}

// AllRenders iterates over every job that matches opt, fetching pages of
// opt.Limit as it goes. It stops at the first error, which it yields.
func (c *Client) AllRenders(ctx context.Context, opt ListOptions) iter.Seq2[*Job, error] {
	return pages(opt.Cursor, func(cursor string) ([]Job, string, error) {
		opt.Cursor = cursor
		page, err := c.ListRenders(ctx, opt)
		if err != nil {
			return nil, "", err
		}
		return page.Items, page.NextCursor, nil
	})
}

// pages iterates over the items of a paged listing from cursor on,
// fetching each page with list as it goes. It stops at the first error,
// which it yields, and at a page that makes no progress.
func pages[T any](cursor string, list func(cursor string) ([]T, string, error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for {
			items, next, err := list(cursor)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range items {
				if !yield(&items[i], nil) {
					return
				}
			}
			if next == "" || next == cursor || len(items) == 0 {
				return
			}
			cursor = next
		}
	}
}

// Stickers returns the built-in sticker catalogue.
func (c *Client) Stickers(ctx context.Context) ([]Sticker, error) {
	var raw json.RawMessage
	if _, err := c.sendJSON(ctx, c.get("/v1/stickers"), &raw); err != nil {
		return nil, err
	}
	// A bare list, or one under "items" or "stickers".
	var list []Sticker
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var wrapped struct{ Items, Stickers []Sticker }
	if err := json.Unmarshal(raw, &wrapped); err != nil {
		return nil, fmt.Errorf("stickerd: GET /v1/stickers: reading the answer: %w", err)
	}
	if wrapped.Items != nil {
		return wrapped.Items, nil
	}
	return wrapped.Stickers, nil
}

// OpenAPI returns the gateway's OpenAPI 3 description.
func (c *Client) OpenAPI(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	if _, err := c.sendJSON(ctx, c.get("/openapi.json"), &raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func (c *Client) get(path string) request {
	return request{method: http.MethodGet, path: path, retry: true}
}

// jobPath is /v1/renders/{id}{suffix}, with the id escaped.
func jobPath(id JobID, suffix string) string {
	return "/v1/renders/" + url.PathEscape(string(id)) + suffix
}
