package stickerd

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

// TestSnapshot_SubmitAndDownload: a png or jpg snapshot is submitted,
// waited for and downloaded like any render; its output says its
// format and has no duration.
func TestSnapshot_SubmitAndDownload(t *testing.T) {
	for _, format := range []string{"png", "jpg"} {
		t.Run(format, func(t *testing.T) {
			_, c, _ := newFake(t, stickerdtest.Config{OutputBytes: 4096})
			j, _, err := c.SubmitRender(testCtx(t), fmt.Sprintf(`{"source":{"color":"#102030","width":320,"height":240,"duration":2},
				"stickers":[{"type":"text","text":"hi"}],"output":{"format":%q,"time":1.5}}`, format))
			if err != nil {
				t.Fatal(err)
			}
			done, err := c.Wait(testCtx(t), j.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if o := done.Output; o == nil || o.Format != format || o.Duration != 0 {
				t.Fatalf("output %+v, want format %s without a duration", o, format)
			}
			var buf bytes.Buffer
			if _, err := c.DownloadOutput(testCtx(t), j.ID, &buf); err != nil ||
				!bytes.Equal(buf.Bytes(), stickerdtest.OutputData(string(j.ID), 4096)) {
				t.Fatalf("download: %d bytes, %v", buf.Len(), err)
			}
		})
	}
}
