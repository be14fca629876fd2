package render

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/stickerd/stickerd/internal/errcode"
)

// FileResolver resolves local paths (relative ones against Dir) for the
// command-line client's --local mode. It refuses asset ids and URLs, which
// need a server.
type FileResolver struct{ Dir string }

// Resolve implements Resolver.
func (r FileResolver) Resolve(_ context.Context, ref AssetRef) (string, error) {
	if ref.Path == "" {
		return "", errcode.New(errcode.AssetNotFound, "%s: a local render resolves only local paths; asset ids and URLs need a server", ref.Field)
	}
	p := ref.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(r.Dir, p)
	}
	if _, err := os.Stat(p); err != nil {
		return "", errcode.Wrap(errcode.AssetNotFound, err, "%s: %s not found", ref.Field, ref.Path)
	}
	return p, nil
}

func lookPath(bin string) (string, error) { return exec.LookPath(bin) }
