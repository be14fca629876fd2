package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// DefaultPartSize is the size of one part of a streamed S3 upload, and so
// the memory one upload holds, whatever the object's size.
const DefaultPartSize int64 = 16 << 20

// minPartSize is S3's smallest part (but the last).
const minPartSize int64 = 5 << 20

// maxParts is S3's most parts in one multipart upload.
const maxParts = 10000

// abortTimeout bounds the abort of a failed multipart upload, which runs
// even when the caller's context has ended.
const abortTimeout = 30 * time.Second

// S3 is a Store in a bucket of an S3-compatible object store (AWS S3,
// MinIO, versitygw, Ceph RGW, …), through minio-go. Keys live under an
// optional prefix. An object becomes visible whole or not at all: Put
// sends a stream as one PUT when it fits in a part, otherwise as a
// multipart upload that S3 assembles atomically on completion (and that
// is aborted on any error, the limit included). Open returns a seekable
// object (ranged GETs), so the gateway serves Range requests from S3.
// LocalPath downloads into ScratchDir.
//
// Errors: ErrNotFound, ErrBadKey, ErrTooLarge, and, wrapped with the
// store's own, ErrUnavailable (unreachable, a 5xx or throttling answer)
// and ErrFull (the store is out of space).
type S3 struct {
	core     minio.Core
	bucket   string
	prefix   string // "" or ending in "/"
	partSize int64
	scratch  string
	bufs     sync.Pool
}

var (
	_ Store   = (*S3)(nil)
	_ Statter = (*S3)(nil)
)

func (s *S3) object(key string) (string, error) {
	if err := checkKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

// Put implements Store: one PUT for a stream shorter than a part, a
// multipart upload otherwise, holding one part in memory.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, limit int64) (int64, error) {
	obj, err := s.object(key)
	if err != nil {
		return 0, err
	}
	// One part's buffer, whatever the size: the parts are of the
	// configured size (10,000 of 16 MiB by default: 156 GiB at most).
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	src := &limitedReader{r: ctxReader{ctx, r}, limit: limit}
	n, rerr := io.ReadFull(src, buf)
	if rerr == io.EOF || rerr == io.ErrUnexpectedEOF { // one part holds it all
		if _, err := s.core.PutObject(ctx, s.bucket, obj, bytes.NewReader(buf[:n]), int64(n), "", "", s.putOptions()); err != nil {
			return 0, s.fail("put", key, ctx, err)
		}
		return int64(n), nil
	}
	if rerr != nil {
		return 0, rerr
	}
	return s.putMultipart(ctx, key, obj, src, buf, n)
}

// putMultipart uploads buf[:n] and the rest of src as the parts of one
// multipart upload, completed only when src ended within its limit.
func (s *S3) putMultipart(ctx context.Context, key, obj string, src io.Reader, buf []byte, n int) (total int64, err error) {
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, obj, s.putOptions())
	if err != nil {
		return 0, s.fail("put", key, ctx, err)
	}
	completed := false
	defer func() {
		if !completed {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
			_ = s.core.AbortMultipartUpload(actx, s.bucket, obj, id)
			cancel()
		}
	}()
	var parts []minio.CompletePart
	for num := 1; ; num++ {
		if num > maxParts {
			return 0, fmt.Errorf("%w: more than %d parts of %d bytes", ErrTooLarge, maxParts, len(buf))
		}
		p, err := s.core.PutObjectPart(ctx, s.bucket, obj, id, num, bytes.NewReader(buf[:n]), int64(n), minio.PutObjectPartOptions{})
		if err != nil {
			return 0, s.fail("put", key, ctx, err)
		}
		parts = append(parts, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		total += int64(n)
		var rerr error
		n, rerr = io.ReadFull(src, buf)
		if rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.ErrUnexpectedEOF {
			return 0, rerr
		}
		// A short part is the last one: the next read says EOF.
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, obj, id, parts, s.putOptions()); err != nil {
		return 0, s.fail("put", key, ctx, err)
	}
	completed = true
	return total, nil
}

func (s *S3) putOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: uint64(s.partSize)}
}

// limitedReader fails with ErrTooLarge once more than limit bytes (0: no
// limit) have been read, so that an over-limit upload is never completed.
type limitedReader struct {
	r     io.Reader
	limit int64
	n     int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.limit > 0 && l.n > l.limit {
		return n, ErrTooLarge
	}
	return n, err
}

// PutFile implements Store: the file is uploaded (a multipart upload for
// a large one, completed atomically) and then removed, as Dir moves it.
func (s *S3) PutFile(ctx context.Context, key, src string) (int64, error) {
	obj, err := s.object(key)
	if err != nil {
		return 0, err
	}
	st, err := os.Stat(src)
	if err != nil {
		return 0, err
	}
	info, err := s.core.Client.FPutObject(ctx, s.bucket, obj, src, s.putOptions())
	if err != nil {
		return 0, s.fail("put", key, ctx, err)
	}
	if info.Size != 0 && info.Size != st.Size() {
		return 0, fmt.Errorf("blob: s3 put %s: stored %d bytes of %d", key, info.Size, st.Size())
	}
	os.Remove(src)
	return st.Size(), nil
}

// Open implements Store. The object is read with ranged GETs as it is
// read and sought.
func (s *S3) Open(ctx context.Context, key string) (Object, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, err
	}
	o, err := s.core.Client.GetObject(ctx, s.bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.fail("open", key, ctx, err)
	}
	st, err := o.Stat()
	if err != nil {
		o.Close()
		return nil, s.fail("open", key, ctx, err)
	}
	return &s3Object{Object: o, size: st.Size, etag: st.ETag}, nil
}

type s3Object struct {
	*minio.Object
	size int64
	etag string
}

func (o *s3Object) Size() int64  { return o.size }
func (o *s3Object) ETag() string { return o.etag }

// Stat returns an object's size and ETag without reading it.
func (s *S3) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	obj, err := s.object(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := s.core.Client.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, s.fail("stat", key, ctx, err)
	}
	return ObjectInfo{Size: st.Size, Version: st.ETag}, nil
}

// LocalPath implements Store: the object is downloaded into the scratch
// folder, under a name made of its key and ETag, and a copy already there
// is used again. Nothing here removes the copies: a worker's Scratch
// bounds them; the asset service's PutFile of the copy removes it.
func (s *S3) LocalPath(ctx context.Context, key string) (string, error) {
	obj, err := s.object(key)
	if err != nil {
		return "", err
	}
	o, err := s.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer o.Close()
	sum := sha256.Sum256([]byte(s.bucket + "/" + obj + "\x00" + o.(*s3Object).etag))
	dst := filepath.Join(s.scratch, hex.EncodeToString(sum[:16])+path.Ext(key))
	if st, err := os.Stat(dst); err == nil && st.Size() == o.Size() {
		return dst, nil
	}
	if err := os.MkdirAll(s.scratch, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(s.scratch, ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, o)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", s.fail("read", key, ctx, err)
	}
	if n != o.Size() {
		return "", fmt.Errorf("%w: s3 read %s: %d bytes of %d", ErrUnavailable, key, n, o.Size())
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}

// Delete implements Store; deleting nothing is not an error.
func (s *S3) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.core.Client.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{}); err != nil {
		if err := s.fail("delete", key, ctx, err); !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	return nil
}

// Ping checks that the bucket can be reached (a readiness check).
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.core.Client.BucketExists(ctx, s.bucket)
	if err != nil {
		return s.fail("ping", "", ctx, err)
	}
	if !ok {
		return fmt.Errorf("%w: s3 bucket %q does not exist", ErrUnavailable, s.bucket)
	}
	return nil
}

// String names the store in logs.
func (s *S3) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// fail classifies an error of the S3 client: ErrNotFound, ErrFull,
// ErrUnavailable (wrapped with the original), the context's own error,
// or the error itself.
func (s *S3) fail(op, key string, ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, cerr)) {
		return cerr
	}
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrBadKey) {
		return err
	}
	var cls error
	resp := minio.ToErrorResponse(err)
	msg := strings.ToLower(resp.Message + " " + err.Error())
	switch {
	case resp.Code == "NoSuchKey" || resp.Code == "NoSuchObject" || (resp.StatusCode == http.StatusNotFound && resp.Code != "NoSuchBucket"):
		cls = ErrNotFound
	case resp.Code == "XMinioStorageFull" || resp.Code == "EntityTooLarge" || resp.StatusCode == http.StatusInsufficientStorage ||
		strings.Contains(msg, "no space left") || strings.Contains(msg, "storage full") || strings.Contains(msg, "quota exceeded"):
		cls = ErrFull
	case resp.Code == "NoSuchBucket", resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests,
		resp.Code == "SlowDown", resp.Code == "RequestTimeout", resp.Code == "ServiceUnavailable":
		cls = ErrUnavailable
	case resp.Code == "" && transportError(err):
		cls = ErrUnavailable
	}
	where := "s3 " + op
	if key != "" {
		where += " " + key
	}
	if cls == nil {
		return fmt.Errorf("blob: %s: %w", where, err)
	}
	if cls == ErrNotFound {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("%w: %s: %w", cls, where, err)
}

// transportError reports an error of the connection rather than of the
// store's answer: refused, reset, timed out, a name that does not
// resolve, a connection closed mid-answer.
func transportError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.As(err, &de) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
