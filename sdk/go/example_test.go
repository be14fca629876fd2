package stickerd_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	stickerd "github.com/stickerd/stickerd/sdk/go"
	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

func Example() {
	srv := httptest.NewServer(stickerdtest.New(stickerdtest.Config{OutputBytes: 1000}))
	defer srv.Close()
	ctx := context.Background()
	c := stickerd.New(srv.URL)

	clip, err := c.UploadAsset(ctx, "clip.mp4", strings.NewReader("…video bytes…"))
	if err != nil {
		panic(err)
	}
	spec := fmt.Sprintf(`{"source":{"asset_id":%q},
		"stickers":[{"type":"image","builtin":"heart","x":0.8,"y":0.2,"width":0.15}]}`, clip.ID)
	job, cached, err := c.SubmitRender(ctx, spec, stickerd.SubmitOption{IdempotencyKey: "example-1"})
	if err != nil {
		panic(err)
	}
	fmt.Println(job.Status, cached)
	job, err = c.Wait(ctx, job.ID, nil)
	if err != nil {
		panic(err)
	}
	var out bytes.Buffer
	n, err := c.DownloadOutput(ctx, job.ID, &out)
	fmt.Println(job.Status, job.Output.Format, n, err)

	_, _, err = c.SubmitRender(ctx, `{"source":{"asset_id":"`+string(clip.ID)+`"},"stickers":[{"type":"image","x":2}]}`)
	if stickerd.IsCode(err, "SPEC_INVALID") {
		fmt.Println("refused:", err.(*stickerd.APIError).Fields[0].Field)
	}
	// Output:
	// queued false
	// succeeded mp4 1000 <nil>
	// refused: stickers[0]
}
