package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// pathError is a local file of the spec that cannot be read.
type pathError struct {
	field string // JSON path, e.g. "stickers[1].path"
	err   error
}

func (e *pathError) Error() string { return e.field + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// uploadError is an upload the server refused or that did not get through.
type uploadError struct {
	field, file string
	err         error
}

func (e *uploadError) Error() string {
	return "uploading " + e.file + " (" + e.field + "): " + e.err.Error()
}
func (e *uploadError) Unwrap() error { return e.err }

// uploadPaths uploads every local file the spec names (source.path,
// stickers[i].path, a text sticker's .ttf/.otf font) and puts the asset's
// id in its place, so that one spec file works with --local and with a
// server. A spec with no paths, or that is not a JSON object, is returned
// as it is: the server says what is wrong with it.
func (r *remoteRender) uploadPaths(ctx context.Context, data []byte, dir string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keep numbers exactly as written
	var root map[string]any
	if dec.Decode(&root) != nil {
		return data, nil
	}
	uploaded := map[string]string{} // file → asset id: each file goes up once
	changed := false
	replace := func(obj map[string]any, key, field, idKey string) error {
		p, ok := obj[key].(string)
		if !ok || p == "" {
			return nil
		}
		file := p
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		id, ok := uploaded[file]
		if !ok {
			var err error
			if id, err = r.upload(ctx, field, file); err != nil {
				return err
			}
			uploaded[file] = id
		}
		delete(obj, key)
		obj[idKey] = id
		changed = true
		return nil
	}
	if src, ok := root["source"].(map[string]any); ok {
		if err := replace(src, "path", "source.path", "asset_id"); err != nil {
			return nil, err
		}
	}
	stickers, _ := root["stickers"].([]any)
	for i, s := range stickers {
		st, ok := s.(map[string]any)
		if !ok {
			continue
		}
		field := fmt.Sprintf("stickers[%d]", i)
		if err := replace(st, "path", field+".path", "asset_id"); err != nil {
			return nil, err
		}
		if font, _ := st["font"].(string); isFontFile(font) {
			if err := replace(st, "font", field+".font", "font"); err != nil {
				return nil, err
			}
		}
	}
	if !changed {
		return data, nil
	}
	return json.Marshal(root)
}

func isFontFile(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".ttf" || ext == ".otf"
}

// upload sends one file and returns its asset id.
func (r *remoteRender) upload(ctx context.Context, field, file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", &pathError{field: field, err: err}
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return "", &pathError{field: field, err: fmt.Errorf("%s is a folder", file)}
	}
	a, err := r.client.UploadAsset(ctx, filepath.Base(file), f)
	if err != nil {
		return "", &uploadError{field: field, file: file, err: err}
	}
	r.say("uploaded %s as %s (%s, %s)", file, a.ID, a.Kind, humanBytes(a.Bytes))
	return string(a.ID), nil
}

// humanBytes is n in B, kB or MB.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
