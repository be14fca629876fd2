package render

import (
	"strings"
	"testing"
)

func TestExplainFailure(t *testing.T) {
	tests := []struct {
		name, stderr string
		want         []string
		not          []string
	}{
		{"opus layout",
			"[libopus @ 0x55d0c8a1e2c0] Invalid channel layout 5.1(side) for specified mapping family -1.\n" +
				"Error initializing output stream 0:1 -- Error while opening encoder for output stream #0:1 - maybe incorrect parameters such as bit_rate, rate, width or height\nConversion failed!\n",
			[]string{"libopus: Invalid channel layout 5.1(side)"}, []string{"0x55d0", "Conversion failed", "Error initializing"}},
		{"odd width",
			"[libx264 @ 0x5581] width not divisible by 2 (171x540)\nError initializing output stream 0:0 -- Error while opening encoder\n",
			[]string{"libx264: width not divisible by 2 (171x540)"}, nil},
		{"paths",
			"/srv/stickerd/data/blobs/t1/ast_abc: Invalid data found when processing input\n",
			[]string{"ast_abc: Invalid data found"}, []string{"/srv", "data/blobs"}},
		{"only generic", "Conversion failed!\n", []string{"Conversion failed!"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explainFailure(tt.stderr)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not say %q", got, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("%q still says %q", got, n)
				}
			}
		})
	}
}

// A CUDA device that cannot be opened is explained by its cause, not by
// the option parser's complaint.
func TestExplainFailure_HardwareDevice(t *testing.T) {
	stderr := `[AVHWDeviceContext @ 0x555572ece4c0] Cannot load libcuda.so.1
[AVHWDeviceContext @ 0x555572ece4c0] Could not dynamically load CUDA
Device creation failed: -1.
Failed to set value 'cuda=gpu' for option 'init_hw_device': Operation not permitted
Error parsing global options: Operation not permitted`
	if got, want := explainFailure(stderr), "AVHWDeviceContext: Cannot load libcuda.so.1; AVHWDeviceContext: Could not dynamically load CUDA"; got != want {
		t.Fatalf("explainFailure = %q, want %q", got, want)
	}
}
