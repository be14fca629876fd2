package proto

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// protocVersion matches the header line that names the protoc that ran,
// in protoc-gen-go's form ("// \tprotoc        v3.21.12") and in
// protoc-gen-go-grpc's ("// - protoc             v3.21.12"). The
// generated code does not depend on it, and machines carry different protoc
// releases, so it is left out of the comparison. The plugins' own versions
// are pinned by go.mod and still compared.
var protocVersion = regexp.MustCompile(`(?m)^//[ \t]+(-[ \t]+)?protoc[ \t]+\S+[ \t]*$`)

// normalize blanks the protoc version line.
func normalize(b []byte) []byte {
	return protocVersion.ReplaceAll(b, []byte("// protoc (version not compared)"))
}

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
		if line, a, b := firstDifference(normalize(got), normalize(want)); line > 0 {
			t.Errorf("%s differs from what protoc generates at line %d: run make proto\nchecked in: %s\ngenerated:  %s", rel, line, a, b)
		}
	}
}

// TestNormalizeIgnoresOnlyTheProtocVersion pins what the comparison leaves
// out: another protoc release, nothing else.
func TestNormalizeIgnoresOnlyTheProtocVersion(t *testing.T) {
	a := "// versions:\n// \tprotoc-gen-go v1.36.12\n// \tprotoc        v3.21.12\n// source: worker.proto\n" +
		"// versions:\n// - protoc-gen-go-grpc v1.5.1\n// - protoc             v3.21.12\n"
	b := "// versions:\n// \tprotoc-gen-go v1.36.12\n// \tprotoc        v5.29.3\n// source: worker.proto\n" +
		"// versions:\n// - protoc-gen-go-grpc v1.5.1\n// - protoc             (unknown)\n"
	if line, x, y := firstDifference(normalize([]byte(a)), normalize([]byte(b))); line > 0 {
		t.Errorf("another protoc version makes line %d differ: %q vs %q", line, x, y)
	}
	c := bytes.Replace([]byte(a), []byte("protoc-gen-go v1.36.12"), []byte("protoc-gen-go v1.36.13"), 1)
	if line, _, _ := firstDifference(normalize([]byte(a)), normalize(c)); line != 2 {
		t.Errorf("another protoc-gen-go version differs at line %d, want 2", line)
	}
}

// firstDifference returns the first line (1-based) where a and b differ and
// the two lines, or 0 when they are equal.
func firstDifference(a, b []byte) (int, string, string) {
	if bytes.Equal(a, b) {
		return 0, "", ""
	}
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; ; i++ {
		var x, y []byte
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if !bytes.Equal(x, y) || i >= len(la) || i >= len(lb) {
			return i + 1, string(x), string(y)
		}
	}
}
