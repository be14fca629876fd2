// Package stickerd is the Go client of the stickerd REST API
// (docs/api.md): upload assets, submit renders, follow their progress,
// download the result.
//
// Every answer outside 2xx is an *APIError read from the problem+json body,
// with the error code and each invalid field's JSON path; IsCode tests for a
// code. GETs, and submits that carry an idempotency key, are retried on 429
// and 503 as Retry-After says; a submit without a key is sent once.
//
//	c := stickerd.New("http://127.0.0.1:8080", stickerd.WithAPIKey(key))
//	clip, err := c.UploadAsset(ctx, "clip.mp4", f)
//	if err != nil { … }
//	spec := fmt.Sprintf(`{"source":{"asset_id":%q},
//		"stickers":[{"type":"image","builtin":"heart","x":0.8,"y":0.2,"width":0.15}]}`, clip.ID)
//	job, _, err := c.SubmitRender(ctx, spec, stickerd.SubmitOption{IdempotencyKey: "clip-heart-1"})
//	if stickerd.IsCode(err, "SPEC_INVALID") { … } // err.(*APIError).Fields says where
//	job, err = c.Wait(ctx, job.ID, func(p float64) { fmt.Printf("\r%3.0f%%", p*100) })
//	if err == nil && job.Status == stickerd.StatusSucceeded {
//		_, err = c.DownloadOutput(ctx, job.ID, out)
//	}
//
// Package stickerdtest holds an in-memory fake of the API for tests.
package stickerd
