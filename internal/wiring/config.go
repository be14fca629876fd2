package wiring

import (
	"errors"
	"log/slog"
	"path/filepath"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/clock"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/webhook"
	"github.com/stickerd/stickerd/worker"
)

// Config configures a stack. Start from DefaultConfig.
type Config struct {
	DataDir string
	// EtcdEndpoints selects an external etcd cluster; empty starts Etcd.
	EtcdEndpoints []string
	Etcd          etcd.MemberConfig
	// KafkaBrokers selects external brokers; empty starts one on KafkaListen.
	KafkaBrokers []string
	KafkaListen  string
	// SchedulerListen is the gRPC listen address of each replica (port 0: free).
	SchedulerListen string
	Schedulers      int
	Scheduler       scheduler.Config
	// Workers is how many in-process workers to run; Worker is their template.
	Workers int
	Worker  worker.Config
	Render  render.Config
	// Renderer replaces the render engine (the benchmark's no-op renderer).
	Renderer worker.Renderer
	// Coord selects Redis (RedisURL) or in-process state for the result
	// cache, rate limits, idempotency keys and progress fan-out.
	Coord sharedstate.Config
	// Webhook signs and retries job-end notifications.
	Webhook webhook.Config
	// Service names this process in error events ("dev" by default).
	Service string
	// Monitor runs the error-event monitor in-process (stickerd dev).
	Monitor bool
	// BlobDir is the blob store's folder, default DataDir/blobs.
	BlobDir string
	// Blobs, when set, is the blob store instead of BlobDir (an S3 bucket).
	Blobs blob.Store
	Clock clock.Clock
	Log   *slog.Logger
}

// DefaultConfig is the embedded default of `stickerd dev`, under dataDir.
func DefaultConfig(dataDir string) Config {
	etcd := etcd.DefaultMemberConfig()
	etcd.DataDir = filepath.Join(dataDir, "etcd")
	r := render.DefaultConfig()
	r.WorkDir, r.CacheDir = filepath.Join(dataDir, "work"), filepath.Join(dataDir, "cache")
	w := worker.DefaultConfig()
	w.WorkDir = filepath.Join(dataDir, "work")
	return Config{
		DataDir:         dataDir,
		Etcd:            etcd,
		KafkaListen:     "127.0.0.1:9092",
		SchedulerListen: "127.0.0.1:9095",
		Schedulers:      1,
		Scheduler:       scheduler.DefaultConfig(),
		Workers:         1,
		Worker:          w,
		Render:          r,
		Coord:           sharedstate.DefaultConfig(),
		Webhook:         webhook.DefaultConfig(),
	}
}

// Validate reports a configuration that cannot start.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("wiring: DataDir is required"))
	}
	if c.Schedulers < 1 {
		errs = append(errs, errors.New("wiring: at least one scheduler replica"))
	}
	if c.Workers < 0 {
		errs = append(errs, errors.New("wiring: Workers cannot be negative"))
	}
	if len(c.KafkaBrokers) == 0 && c.KafkaListen == "" {
		errs = append(errs, errors.New("wiring: KafkaBrokers or KafkaListen is required"))
	}
	if err := c.Scheduler.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
