package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/flagenv"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/tlsconf"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/gateway"
	"github.com/stickerd/stickerd/services/submit"
	"github.com/stickerd/stickerd/services/webhook"
)

// gatewayOpts are the gateway flags shared by `gateway` and `dev`.
type gatewayOpts struct {
	fs            *flag.FlagSet
	apiKeysFile   *string
	allowedHosts  *flagenv.List
	allowPrivate  *bool
	webhookSecret *string
	maxUpload     *int64
	queueLimit    *int
	rate          *float64
	burst         *int
	idemTTL       *time.Duration
	signedTTL     *time.Duration
	signingKey    *string
	publicURL     *string
}

// gatewayFlags registers the gateway's flags. dev runs the schedulers and
// workers too, so there --allow-private-urls and --webhook-secret reach
// further than on a standalone gateway.
func gatewayFlags(fs *flag.FlagSet, dev bool) gatewayOpts {
	d := gateway.DefaultConfig()
	var hosts flagenv.List
	fs.Var(&hosts, "allowed-hosts", "host names, comma-separated, that a loopback gateway without API keys answers besides localhost, 127.0.0.1 and [::1]")
	private := "let spec URLs and webhook_url name loopback, private, link-local or metadata addresses (checked at submit)"
	secret := "whsec_… secret that signs the webhooks of batches' ends (job webhooks come from the schedulers: give them the same one; default: a random one per start, with a warning)"
	if dev {
		private = "let URL assets, webhook_url and webhooks reach loopback, private, link-local or metadata addresses"
		secret = "whsec_… secret that signs webhooks (default: a random one per start, with a warning)"
	}
	return gatewayOpts{
		fs:            fs,
		apiKeysFile:   fs.String("api-keys-file", "", "file of tenant:key lines; without it a loopback-only gateway accepts requests without a key"),
		allowedHosts:  &hosts,
		allowPrivate:  fs.Bool("allow-private-urls", false, private),
		webhookSecret: fs.String("webhook-secret", "", secret),
		maxUpload:     fs.Int64("max-upload-bytes", d.MaxUploadBytes, "largest asset upload, in bytes"),
		queueLimit:    fs.Int("queue-depth-limit", d.QueueDepthLimit, "submissions are refused with 503 while this many jobs are queued"),
		rate:          fs.Float64("rate-limit", sharedstate.DefaultConfig().RateLimit.Rate, "uploads and submissions per second per tenant (0: no limit)"),
		burst:         fs.Int("rate-burst", sharedstate.DefaultConfig().RateLimit.Burst, "burst of the per-tenant rate limit (unused with --rate-limit 0)"),
		idemTTL:       fs.Duration("idempotency-ttl", d.IdempotencyTTL, "how long an Idempotency-Key keeps its job (kept in etcd with the job)"),
		signedTTL:     fs.Duration("signed-url-ttl", d.SignedURLTTL, "how long a job's output.signed_url downloads without an API key, from when the job is read"),
		signingKey: fs.String("url-signing-key", "", fmt.Sprintf("key (at least %d bytes) that signs output links; every gateway needs the same one "+
			"(default: a random one per start, with a warning: links die on restart; prefer STICKERD_URL_SIGNING_KEY to the command line)", gateway.MinURLSigningKeyBytes)),
		publicURL: fs.String("public-url", "", "https://HOST[/PATH] clients reach the API at: output.signed_url is absolute under it (default: a path)"),
	}
}

// rateLimit is the per-tenant limit of --rate-limit and --rate-burst.
// unlimited is set for --rate-limit 0, which turns the limit off: the
// coordination config keeps its valid default and the caller drops the
// limiter it opens.
func (o gatewayOpts) rateLimit() (rl sharedstate.RateLimit, unlimited bool, err error) {
	switch r := *o.rate; {
	case r == 0:
		return sharedstate.DefaultConfig().RateLimit, true, nil
	case r < 0 || math.IsNaN(r) || math.IsInf(r, 0):
		return rl, false, errUsage{o.fs, fmt.Errorf("--rate-limit %v: want a positive number of requests per second, or 0 for no limit", r)}
	case r > 1e6:
		return rl, false, errUsage{o.fs, fmt.Errorf("--rate-limit %v: at most 1e6 per second (0: no limit)", r)}
	case *o.burst < 1:
		return rl, false, errUsage{o.fs, fmt.Errorf("--rate-burst %d: want at least 1", *o.burst)}
	}
	return sharedstate.RateLimit{Rate: *o.rate, Burst: *o.burst}, false, nil
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
	cfg.IdempotencyTTL = *o.idemTTL
	cfg.SignedURLTTL, cfg.URLSigningKey, cfg.PublicURL = *o.signedTTL, []byte(*o.signingKey), *o.publicURL
	return cfg, cfg.Validate()
}

func runGateway(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP listen address: the REST API, health and metrics")
	dataDir := fs.String("data-dir", "./data", "data folder; with the default --blob-url, blobs (uploads, outputs) live in DATA_DIR/blobs, shared with the workers")
	etcdEndpoints := flagenv.List{"127.0.0.1:2379"}
	brokers := flagenv.List{"127.0.0.1:9092"}
	fs.Var(&etcdEndpoints, "etcd-endpoints", "etcd endpoints, comma-separated")
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers, comma-separated")
	redisURL := fs.String("redis-url", "", "Redis (redis://host:port/db, rediss:// for TLS) for the cache, rate limits, idempotency and progress (in-process when empty or unreachable at start)")
	gw := gatewayFlags(fs, false)
	blobs := blobFlags(fs, dataDir)
	sec := securityFlags(fs, tlsconf.Serve|tlsconf.Dial, usesEtcd|usesKafka)
	tr := tracingFlags(fs, "gateway")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := sec.validate(false); err != nil {
		return err
	}
	stopTracing, err := tr.start(ctx, log, "")
	if err != nil {
		return err
	}
	defer stopTracing()
	bs, err := blobs.open(ctx, sec, "")
	if err != nil {
		return err
	}
	rate, unlimited, err := gw.rateLimit()
	if err != nil {
		return err
	}
	if err := checkPorts(listenFlag{"http-addr", *httpAddr}); err != nil {
		return err
	}
	ec, err := sec.etcd(etcdEndpoints)
	if err != nil {
		return err
	}
	cli, err := etcd.DialConfig(ctx, ec)
	if err != nil {
		return err
	}
	defer cli.Close()
	qc, err := sec.queue(queue.Config{Brokers: brokers})
	if err != nil {
		return err
	}
	prod, err := queue.NewProducer(qc)
	if err != nil {
		return err
	}
	defer prod.Close()
	cc := sharedstate.DefaultConfig()
	cc.RedisURL = *redisURL
	cc.RateLimit = rate
	if err := sec.redis(&cc); err != nil {
		return err
	}
	set, err := sharedstate.Open(ctx, cc)
	if err != nil {
		log.Warn("redis unavailable at start; using in-process state until restart", "err", err)
		cc.RedisURL = ""
		if set, err = sharedstate.Open(ctx, cc); err != nil {
			return err
		}
	}
	if unlimited {
		set.Limiter = nil
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
	wcfg := webhook.DefaultConfig()
	wcfg.Secret, wcfg.AllowPrivate = *gw.webhookSecret, *gw.allowPrivate
	if wcfg.Secret == "" {
		wcfg.Secret = webhook.NewSecret()
		log.Warn("no --webhook-secret; signing batch webhooks with a random secret")
	}
	hooks, err := wiring.NewWebhooks(ctx, wcfg, errs, log)
	if err != nil {
		return err
	}
	g, err := wiring.NewGateway(cli, store, sub, bs, scheduler.FollowQueueDepth(ctx, cli),
		wiring.GatewayOptions{Config: gcfg, Coord: coordOf(set), Errors: errs, Context: ctx, BatchWebhooks: hooks.DeliverBatch, Log: log})
	if err != nil {
		return err
	}
	g.MountEdgePlacement(edge.SessionsPath, wiring.EdgeDirectory{Client: cli}) // realtime sessions go to the least-loaded edge
	log.Info("gateway serving", "http", *httpAddr, "scheme", sec.scheme(), "coord", set.Backend)
	return sec.serveHTTP(ctx, *httpAddr, g.Handler())
}
