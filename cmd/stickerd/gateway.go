package main

import (
	"context"
	"flag"
	"log/slog"
	"path/filepath"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/flagenv"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/submit"
)

// gatewayOpts are the gateway flags shared by `gateway` and `dev`.
type gatewayOpts struct {
	apiKeysFile   *string
	allowedHosts  *flagenv.List
	allowPrivate  *bool
	webhookSecret *string
	maxUpload     *int64
	queueLimit    *int
	rate          *float64
	burst         *int
}

func gatewayFlags(fs *flag.FlagSet) gatewayOpts {
	d := gateway.DefaultConfig()
	var hosts flagenv.List
	fs.Var(&hosts, "allowed-hosts", "host names, comma-separated, that a loopback gateway without API keys answers besides localhost, 127.0.0.1 and [::1]")
	return gatewayOpts{
		apiKeysFile:   fs.String("api-keys-file", "", "file of tenant:key lines; without it a loopback-only gateway accepts requests without a key"),
		allowedHosts:  &hosts,
		allowPrivate:  fs.Bool("allow-private-urls", false, "let URL assets and webhooks reach private and loopback addresses"),
		webhookSecret: fs.String("webhook-secret", "", "whsec_… secret that signs webhooks (default: a random one per start)"),
		maxUpload:     fs.Int64("max-upload-bytes", d.MaxUploadBytes, "largest asset upload"),
		queueLimit:    fs.Int("queue-depth-limit", d.QueueDepthLimit, "queued jobs past which submissions get 503"),
		rate:          fs.Float64("rate-limit", sharedstate.DefaultConfig().RateLimit.Rate, "submissions and uploads per second per tenant (0: no limit)"),
		burst:         fs.Int("rate-burst", sharedstate.DefaultConfig().RateLimit.Burst, "burst of the per-tenant rate limit"),
	}
}

func (o gatewayOpts) config(httpAddr string) (gateway.Config, error) {
	cfg := gateway.DefaultConfig()
	if *o.apiKeysFile != "" {
		keys, err := gateway.LoadAPIKeys(*o.apiKeysFile)
		if err != nil {
			return cfg, err
		}
		cfg.APIKeys = keys
	}
	cfg.Loopback = health.IsLoopback(httpAddr)
	cfg.AllowedHosts = *o.allowedHosts
	cfg.AllowPrivateURLs = *o.allowPrivate
	cfg.MaxUploadBytes, cfg.QueueDepthLimit = *o.maxUpload, *o.queueLimit
	return cfg, cfg.Validate()
}

func runGateway(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP address")
	dataDir := fs.String("data-dir", "./data", "data folder; blobs (uploads, outputs) live in DATA_DIR/blobs, shared with the workers")
	etcdEndpoints := flagenv.List{"127.0.0.1:2379"}
	brokers := flagenv.List{"127.0.0.1:9092"}
	fs.Var(&etcdEndpoints, "etcd-endpoints", "etcd endpoints, comma-separated")
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers, comma-separated")
	redisURL := fs.String("redis-url", "", "Redis for the cache, rate limits, idempotency and progress (in-process when empty)")
	gw := gatewayFlags(fs)
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	cli, err := etcd.Dial(ctx, etcdEndpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	qc := queue.DefaultConfig()
	qc.Brokers = brokers
	prod, err := queue.NewProducer(qc)
	if err != nil {
		return err
	}
	defer prod.Close()
	cc := sharedstate.DefaultConfig()
	cc.RedisURL = *redisURL
	cc.RateLimit = sharedstate.RateLimit{Rate: *gw.rate, Burst: *gw.burst}
	set, err := openCoord(ctx, cc)
	if err != nil {
		log.Warn("redis unavailable at start; using in-process state until restart", "err", err)
		cc.RedisURL = ""
		if set, err = openCoord(ctx, cc); err != nil {
			return err
		}
	}
	defer set.Close()
	store := jobstore.New(cli, jobstore.DefaultPrefix)
	sub := &submit.Submitter{Store: store, Pub: prod, Log: log}
	gcfg, err := gw.config(*httpAddr)
	if err != nil {
		return err
	}
	errs, err := errevents.NewPublisher(prod, errevents.DefaultConfig("gateway"))
	if err != nil {
		return err
	}
	defer errs.Close(context.Background())
	g, err := wiring.NewGateway(cli, store, sub, blob.Dir{Root: filepath.Join(*dataDir, "blobs")},
		scheduler.PublishedQueueDepth(cli), wiring.GatewayOptions{Config: gcfg, Coord: coordOf(set), Errors: errs, Context: ctx, Log: log})
	if err != nil {
		return err
	}
	g.MountEdgePlacement(edge.SessionsPath, wiring.EdgeDirectory{Client: cli}) // realtime sessions go to the least-loaded edge
	log.Info("gateway serving", "http", *httpAddr, "coord", set.Backend)
	return health.Serve(ctx, *httpAddr, g.Handler())
}

// openCoord opens the coordination set; a zero rate means no rate limit.
func openCoord(ctx context.Context, cc sharedstate.Config) (*sharedstate.Set, error) {
	unlimited := cc.RateLimit.Rate <= 0
	if unlimited {
		cc.RateLimit = sharedstate.DefaultConfig().RateLimit
	}
	set, err := sharedstate.Open(ctx, cc)
	if err == nil && unlimited {
		set.Limiter = nil
	}
	return set, err
}
