// Package stickerdtest is an in-memory fake of the stickerd REST API
// (docs/api.md), for testing clients without the real service: uploads
// (the same bytes uploaded again are the same asset, answered 200 instead
// of 201, as the gateway deduplicates a tenant's uploads), submits with idempotency keys and the result cache, job progress over
// Server-Sent Events, outputs with Range support, cancellation, paging and
// problem+json errors, templates (versions, renders that name one) and
// batches (JSON rows or CSV, rejected rows, counts, cancel, events). Specs
// are checked by the real parser (render/spec), templates and their
// variables by the real template code (internal/templates). A batch's rows
// advance one step per GET of the batch, or as fast as its event stream
// is read.
//
// A job advances one step per GET of it, or as fast as its event stream is
// read: queued, running, each of Config.Steps, then succeeded (or failed
// with Config.Fail). Config also injects the failures a client must survive:
// 503s and 429s, a broken event stream, a download cut short.
//
//	fake := stickerdtest.New(stickerdtest.Config{})
//	srv := httptest.NewServer(fake)
//	defer srv.Close()
package stickerdtest
