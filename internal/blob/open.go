package blob

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrUnavailable wraps an error of a store that cannot be reached or
// answers that it cannot serve now (a 5xx, throttling, a missing bucket):
// the request may succeed later. The gateway answers it 503 with
// Retry-After; a worker fails the attempt with STORAGE_FAILED, retried.
var ErrUnavailable = errors.New("blob: store unavailable")

// ErrFull wraps an error of a store that is out of space (MinIO's
// XMinioStorageFull, EntityTooLarge, "no space left on device"): the
// gateway answers 507.
var ErrFull = errors.New("blob: store full")

// ErrInvalidConfig is returned by Config.Validate.
var ErrInvalidConfig = errors.New("blob: invalid configuration")

// Config selects and configures a blob store. Start from DefaultConfig.
type Config struct {
	// URL is file:///ABSOLUTE/DIR (a local or shared folder) or
	// s3://BUCKET[/PREFIX] (an S3-compatible object store).
	URL string
	// S3Endpoint is the S3 server, http(s)://HOST[:PORT] or HOST[:PORT]
	// (https); empty: AWS S3.
	S3Endpoint string
	// S3Region is the bucket's region; empty: us-east-1 with an
	// S3Endpoint, looked up with AWS.
	S3Region string
	// S3PathStyle addresses the bucket in the path (http://host/bucket/key),
	// as MinIO and most S3-compatible servers want, instead of in the host
	// name.
	S3PathStyle bool
	// S3AccessKey and S3SecretKey, when set, are the credentials; empty:
	// the standard AWS environment variables (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the shared
	// credentials file (~/.aws/credentials, profile AWS_PROFILE), then, on
	// AWS, the instance or pod role.
	S3AccessKey, S3SecretKey string
	// TLS, when set, verifies an https S3Endpoint (a private CA: --tls-ca).
	TLS *tls.Config
	// ScratchDir is where LocalPath downloads S3 objects; default
	// os.TempDir()/stickerd-blobs.
	ScratchDir string
	// PartSize is the part size of streamed uploads (the memory one upload
	// holds), at least 5 MiB.
	PartSize int64
	// MaxRetries is how often the S3 client tries one request (at least 1).
	MaxRetries int
}

// DefaultConfig is the file store in dir.
func DefaultConfig(dir string) Config {
	return Config{URL: FileURL(dir), PartSize: DefaultPartSize, MaxRetries: 3}
}

// FileURL is the file:// URL of a folder (made absolute).
func FileURL(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String()
}

// RegisterFlags adds --blob-url, --s3-endpoint, --s3-region and
// --s3-path-style to fs; their environment twins come with
// internal/flagenv. defaultURL is shown as --blob-url's default when c.URL
// is empty (a caller that derives it from another flag).
func RegisterFlags(fs *flag.FlagSet, c *Config, defaultURL string) {
	use := "blob store (uploads and outputs): file:///ABSOLUTE/DIR or s3://BUCKET[/PREFIX]"
	if c.URL == "" && defaultURL != "" {
		use += " (default " + defaultURL + ")"
	}
	fs.StringVar(&c.URL, "blob-url", c.URL, use)
	fs.StringVar(&c.S3Endpoint, "s3-endpoint", c.S3Endpoint, "S3 server for an s3:// --blob-url, http(s)://HOST[:PORT] (empty: AWS S3); credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN), or ~/.aws/credentials with AWS_PROFILE")
	fs.StringVar(&c.S3Region, "s3-region", c.S3Region, "region of the S3 bucket (default: looked up on AWS, us-east-1 with --s3-endpoint)")
	fs.BoolVar(&c.S3PathStyle, "s3-path-style", c.S3PathStyle, "path-style S3 addressing (http://HOST/BUCKET/KEY), as MinIO and most S3-compatible servers want")
}

// s3Location is a parsed s3:// URL.
type s3Location struct{ bucket, prefix string }

func (c Config) parse() (dir string, s3 *s3Location, err error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", nil, fmt.Errorf("%w: --blob-url %q: %v", ErrInvalidConfig, c.URL, err)
	}
	switch u.Scheme {
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" {
			return "", nil, fmt.Errorf("%w: --blob-url %q: want file:///ABSOLUTE/DIR", ErrInvalidConfig, c.URL)
		}
		return filepath.FromSlash(u.Path), nil, nil
	case "s3":
		if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return "", nil, fmt.Errorf("%w: --blob-url %q: want s3://BUCKET[/PREFIX]", ErrInvalidConfig, c.URL)
		}
		prefix := strings.Trim(u.Path, "/")
		if prefix != "" {
			if err := checkKey(prefix); err != nil {
				return "", nil, fmt.Errorf("%w: --blob-url %q: bad prefix %q", ErrInvalidConfig, c.URL, prefix)
			}
			prefix += "/"
		}
		return "", &s3Location{bucket: u.Host, prefix: prefix}, nil
	}
	return "", nil, fmt.Errorf("%w: --blob-url %q: want file:///ABSOLUTE/DIR or s3://BUCKET[/PREFIX]", ErrInvalidConfig, c.URL)
}

// endpoint is the S3 endpoint's host and whether it is https.
func (c Config) endpoint() (host string, secure bool, err error) {
	e := c.S3Endpoint
	if e == "" {
		return "s3.amazonaws.com", true, nil
	}
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || (u.Scheme != "http" && u.Scheme != "https") {
		return "", false, fmt.Errorf("%w: --s3-endpoint %q: want http(s)://HOST[:PORT]", ErrInvalidConfig, c.S3Endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

// Validate reports settings that cannot work.
func (c Config) Validate() error {
	if c.URL == "" {
		return fmt.Errorf("%w: --blob-url is empty", ErrInvalidConfig)
	}
	_, s3, err := c.parse()
	if err != nil {
		return err
	}
	if s3 == nil {
		return nil
	}
	if _, _, err := c.endpoint(); err != nil {
		return err
	}
	switch {
	case c.PartSize != 0 && c.PartSize < minPartSize:
		return fmt.Errorf("%w: part size %d is under S3's 5 MiB", ErrInvalidConfig, c.PartSize)
	case (c.S3AccessKey == "") != (c.S3SecretKey == ""):
		return fmt.Errorf("%w: the S3 access key and secret key go together", ErrInvalidConfig)
	case c.MaxRetries < 0:
		return fmt.Errorf("%w: MaxRetries %d", ErrInvalidConfig, c.MaxRetries)
	}
	return nil
}

// Open returns the store c names: a Dir for file://, an *S3 for s3://.
// It does not dial: an S3 store that cannot be reached fails its calls
// with ErrUnavailable (S3.Ping checks it).
func Open(_ context.Context, c Config) (Store, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	dir, loc, err := c.parse()
	if err != nil {
		return nil, err
	}
	if loc == nil {
		return Dir{Root: dir}, nil
	}
	host, secure, _ := c.endpoint()
	region := c.S3Region
	if region == "" && c.S3Endpoint != "" {
		region = "us-east-1"
	}
	var creds *credentials.Credentials
	if c.S3AccessKey != "" {
		creds = credentials.NewStaticV4(c.S3AccessKey, c.S3SecretKey, "")
	} else {
		providers := []credentials.Provider{&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}}
		if c.S3Endpoint == "" || strings.HasSuffix(host, ".amazonaws.com") {
			providers = append(providers, &credentials.IAM{})
		}
		creds = credentials.NewChainCredentials(providers)
	}
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, err
	}
	tr.ResponseHeaderTimeout = 2 * time.Minute
	if c.TLS != nil {
		tc := c.TLS.Clone()
		tc.ServerName = "" // --tls-server-name names the scheduler, not the S3 server
		tr.TLSClientConfig = tc
	}
	lookup := minio.BucketLookupAuto
	if c.S3PathStyle {
		lookup = minio.BucketLookupPath
	}
	retries := c.MaxRetries
	if retries == 0 {
		retries = 3
	}
	cli, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: region, BucketLookup: lookup,
		Transport: http.RoundTripper(tr), MaxRetries: retries})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	part := c.PartSize
	if part == 0 {
		part = DefaultPartSize
	}
	scratch := c.ScratchDir
	if scratch == "" {
		scratch = filepath.Join(os.TempDir(), "stickerd-blobs")
	}
	s := &S3{core: minio.Core{Client: cli}, bucket: loc.bucket, prefix: loc.prefix, partSize: part, scratch: scratch}
	s.bufs.New = func() any { b := make([]byte, part); return &b }
	return s, nil
}
