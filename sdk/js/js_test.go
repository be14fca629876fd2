package js

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestFS_HoldsTheSDK(t *testing.T) {
	b, err := fs.ReadFile(FS, FileName)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"export async function connect(", "addSticker(", "updateSticker(",
		"removeSticker(", "clear()", "close()", "'application/sdp'", "'application/trickle-ice-sdpfrag'"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", FileName, want)
		}
	}
}

func TestPackageJSON_PointsAtTheModule(t *testing.T) {
	b, err := os.ReadFile("package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Name    string            `json:"name"`
		Type    string            `json:"type"`
		Main    string            `json:"main"`
		Exports map[string]string `json:"exports"`
		Files   []string          `json:"files"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != "@stickerd/rtc" || pkg.Type != "module" || pkg.Main != "./"+FileName || pkg.Exports["."] != "./"+FileName {
		t.Errorf("package.json: %+v", pkg)
	}
}

// TestSDK_NodeUnitTests runs stickerd-rtc.test.js, the SDK's tests that need
// no browser. Node is not a dependency of the project, so without it the
// test is skipped; the browser test in services/webui/live runs the SDK
// whole either way.
func TestSDK_NodeUnitTests(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("no node: the SDK's unit tests need Node 18 or later")
	}
	v, err := exec.Command(node, "--version").Output()
	var major int
	if _, perr := fmt.Sscanf(string(v), "v%d.", &major); err != nil || perr != nil || major < 18 {
		t.Skipf("node %s: the SDK's unit tests need Node 18 or later", strings.TrimSpace(string(v)))
	}
	out, err := exec.Command(node, "--test", "stickerd-rtc.test.js").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}
