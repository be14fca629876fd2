package proto

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeMatches regenerates the Go code into a temporary folder
// and compares it with what is checked in.
func TestGeneratedCodeMatches(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		t.Fatal("protoc is needed to check generated code: apt-get install -y protobuf-compiler (make test installs it)")
	}
	out := t.TempDir()
	cmd := exec.Command("bash", "../scripts/proto.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("regenerating: %v\n%s", err, b)
	}
	gen, _ := filepath.Glob(filepath.Join(out, "*", "*.go"))
	if len(gen) == 0 {
		t.Fatal("nothing generated")
	}
	for _, g := range gen {
		rel, _ := filepath.Rel(out, g)
		want, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(rel)
		if err != nil {
			t.Errorf("%s is generated but not checked in: run make proto", rel)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what protoc generates: run make proto", rel)
		}
	}
}
