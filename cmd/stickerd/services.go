package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/flagenv"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/kafkaembed"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/monitoring/monitor"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/scheduler"
	"github.com/stickerd/stickerd/services/webhook"
	"github.com/stickerd/stickerd/worker"
)

func runKV(ctx context.Context, args []string, log *slog.Logger) error {
	cfg := etcd.DefaultMemberConfig()
	fs := flag.NewFlagSet("kv", flag.ContinueOnError)
	fs.StringVar(&cfg.Name, "name", cfg.Name, "member name")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "member data folder")
	clients, peers := flagenv.List(cfg.ClientURLs), flagenv.List(cfg.PeerURLs)
	fs.Var(&clients, "client-urls", "client URLs (listened on and advertised), comma-separated")
	fs.Var(&peers, "peer-urls", "peer URLs (listened on and advertised), comma-separated")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "name=peerURL,... of every member (default: this member alone)")
	fs.StringVar(&cfg.InitialClusterState, "initial-cluster-state", "new", "new, or existing to join a running cluster")
	fs.StringVar(&cfg.ClusterToken, "cluster-token", cfg.ClusterToken, "cluster token")
	httpAddr := fs.String("http-addr", "127.0.0.1:8079", "health and metrics address")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	cfg.ClientURLs, cfg.PeerURLs = clients, peers
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return etcd.Run(ctx, cfg) })
	g.Go(func() error { return health.Serve(ctx, *httpAddr, health.Handler()) })
	g.Go(func() error { etcd.WatchLeader(ctx, cfg.ClientURLs, 2*time.Second); return nil })
	return g.Wait()
}

func runMonitor(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	brokers := flagenv.List{"127.0.0.1:9092"}
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers, comma-separated")
	httpAddr := fs.String("http-addr", "127.0.0.1:8083", "health and metrics address")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return monitor.Run(ctx, monitor.Config{Brokers: brokers, Logger: log}) })
	g.Go(func() error { return health.Serve(ctx, *httpAddr, health.Handler()) })
	return g.Wait()
}

func runKafka(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	listen := fs.String("kafka-listen", kafkaembed.DefaultAddr, "broker listen address")
	partitions := fs.Int("partitions", kafkaembed.DefaultPartitions, "partitions per topic")
	httpAddr := fs.String("http-addr", "127.0.0.1:8078", "health and metrics address")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		return kafkaembed.Run(ctx, kafkaembed.Config{Addr: *listen, Topics: queue.Topics(), Partitions: *partitions})
	})
	g.Go(func() error { return health.Serve(ctx, *httpAddr, health.Handler()) })
	return g.Wait()
}

func schedulerFlags(fs *flag.FlagSet, cfg *scheduler.Config) {
	fs.StringVar(&cfg.ID, "id", hostID("scheduler"), "replica id")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often workers beat")
	fs.DurationVar(&cfg.HeartbeatTTL, "heartbeat-ttl", cfg.HeartbeatTTL, "silence after which a worker is lost")
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", cfg.MaxAttempts, "attempts before ATTEMPTS_EXHAUSTED")
	fs.Float64Var(&cfg.TargetUtilization, "target-utilization", cfg.TargetUtilization, "busy workers above this load get no more work")
	fs.DurationVar(&cfg.ElectionTTL, "election-ttl", cfg.ElectionTTL, "leader lease TTL (failover time)")
}

func runScheduler(ctx context.Context, args []string, log *slog.Logger) error {
	cfg := scheduler.DefaultConfig()
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	schedulerFlags(fs, &cfg)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:9095", "gRPC listen address for workers")
	fs.StringVar(&cfg.Advertise, "advertise", "", "address workers use to reach this replica (default: the bound address)")
	etcd := flagenv.List{"127.0.0.1:2379"}
	brokers := flagenv.List{"127.0.0.1:9092"}
	fs.Var(&etcd, "etcd-endpoints", "etcd endpoints, comma-separated")
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers, comma-separated")
	httpAddr := fs.String("http-addr", "127.0.0.1:8081", "health and metrics address")
	redisURL := fs.String("redis-url", "", "Redis for progress fan-out to gateways in other processes")
	webhookSecret := fs.String("webhook-secret", "", "whsec_… secret that signs webhooks")
	allowPrivate := fs.Bool("allow-private-urls", false, "let webhooks reach private and loopback addresses")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	cc := sharedstate.DefaultConfig()
	cc.RedisURL = *redisURL
	set, err := sharedstate.Open(ctx, cc)
	if err != nil {
		return err
	}
	defer set.Close()
	wcfg := webhook.DefaultConfig()
	wcfg.Secret, wcfg.AllowPrivate = *webhookSecret, *allowPrivate
	if wcfg.Secret == "" {
		wcfg.Secret = webhook.NewSecret()
		log.Warn("no --webhook-secret; signing webhooks with a random secret")
	}
	hooks, err := wiring.NewWebhooks(ctx, wcfg, nil, log)
	if err != nil {
		return err
	}
	r, err := wiring.StartReplica(ctx, wiring.ReplicaConfig{Scheduler: cfg, Listen: *grpcAddr, EtcdEndpoints: etcd, Brokers: brokers,
		Progress: set.Progress, Notify: hooks.Notify, Log: log})
	if err != nil {
		return err
	}
	log.Info("scheduler serving", "grpc", r.Addr, "http", *httpAddr)
	err = health.Serve(ctx, *httpAddr, health.Handler(health.Check{Name: "etcd", Fn: r.Ready}))
	r.Close()
	return err
}

func runWorker(ctx context.Context, args []string, log *slog.Logger) error {
	cfg := worker.DefaultConfig()
	rcfg := render.DefaultConfig()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.StringVar(&cfg.ID, "id", cfg.ID, "worker id")
	schedulers := flagenv.List(cfg.Schedulers)
	fs.Var(&schedulers, "schedulers", "scheduler gRPC addresses, comma-separated")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "renders at once")
	dataDir := fs.String("data-dir", "./data", "data folder: blobs (outputs, assets) and scratch space")
	fs.BoolVar(&rcfg.DisableGPU, "disable-gpu", false, "use the CPU path even with a usable GPU")
	fs.BoolVar(&cfg.AllowPrivateURLs, "allow-private-urls", false, "let URL assets come from private addresses")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "on SIGTERM, how long to finish jobs before handing them back")
	var brokers flagenv.List
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers for error events (empty: counted locally only)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8082", "health and metrics address")
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	cfg.Schedulers = schedulers
	cfg.WorkDir = filepath.Join(*dataDir, "work")
	rcfg.WorkDir, rcfg.CacheDir = cfg.WorkDir, filepath.Join(*dataDir, "cache")
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return err
	}
	eng, err := render.New(ctx, rcfg)
	if err != nil {
		return err
	}
	enc := eng.Encoder("mp4")
	log.Info("render engine ready", "ffmpeg", eng.Capabilities().FFmpegVersion, "encoder", enc.Name, "reason", enc.Reason)
	w, err := worker.New(cfg, eng, blob.Dir{Root: filepath.Join(*dataDir, "blobs")}, log)
	if err != nil {
		return err
	}
	errs, closeErrs, err := errorPublisher(brokers, "worker")
	if err != nil {
		return err
	}
	defer closeErrs()
	w.Errors = errs
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(runCtx) }()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return health.Serve(gctx, *httpAddr, health.Handler()) })
	<-ctx.Done() // SIGTERM: drain, then stop
	log.Info("draining", "timeout", cfg.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), cfg.DrainTimeout)
	w.Drain(dctx)
	cancel()
	stop()
	<-done
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func runDev(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "HTTP address: the REST API, the web UI at /, health and metrics")
	dataDir := fs.String("data-dir", "./data", "data folder")
	kafkaListen := fs.String("kafka-listen", "127.0.0.1:9092", "embedded Kafka broker address")
	etcdClient := fs.String("etcd-listen-client", "127.0.0.1:2379", "embedded etcd client address")
	etcdPeer := fs.String("etcd-listen-peer", "127.0.0.1:2380", "embedded etcd peer address")
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:9095", "scheduler gRPC address")
	var brokers, etcd flagenv.List
	fs.Var(&brokers, "kafka-brokers", "use these Kafka brokers instead of the embedded one")
	fs.Var(&etcd, "etcd-endpoints", "use this etcd cluster instead of the embedded member")
	redisURL := fs.String("redis-url", "", "use Redis (redis://host:port/db) for the cache, rate limits, idempotency and progress instead of in-process state")
	workers := fs.Int("workers", 1, "in-process workers")
	concurrency := fs.Int("concurrency", worker.DefaultConfig().Concurrency, "renders at once per worker")
	gw := gatewayFlags(fs)
	candidates := candidateFlags(fs)
	if err := flagenv.Parse(fs, args); err != nil {
		return err
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	cfg := wiring.DefaultConfig(dir)
	cfg.Log, cfg.KafkaListen, cfg.KafkaBrokers, cfg.EtcdEndpoints = log, *kafkaListen, brokers, etcd
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = []string{"http://" + *etcdClient}, []string{"http://" + *etcdPeer}
	cfg.SchedulerListen, cfg.Workers, cfg.Worker.Concurrency = *grpcAddr, *workers, *concurrency
	cfg.Monitor = true
	cfg.Coord.RedisURL = *redisURL
	cfg.Coord.RateLimit = sharedstate.RateLimit{Rate: *gw.rate, Burst: *gw.burst}
	cfg.Webhook.Secret, cfg.Webhook.AllowPrivate = *gw.webhookSecret, *gw.allowPrivate
	cfg.Worker.AllowPrivateURLs = *gw.allowPrivate
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	s, err := wiring.Start(startCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer s.Close()
	gcfg, err := gw.config(*httpAddr)
	if err != nil {
		return err
	}
	co := coordOf(s.Coord)
	if *gw.rate <= 0 {
		co.Limiter = nil
	}
	ecfg := edge.DefaultConfig()
	candidates.apply(&ecfg)
	ed, err := edge.New(ecfg, edge.WithTenantResolver(wiring.EdgeTenant),
		edge.WithAssetOpener(wiring.EdgeAssets(s.Blobs)), edge.WithLogger(log), edge.WithErrorReporter(edgeReporter(s.Errors)))
	if err != nil {
		return err
	}
	defer ed.Close()
	g, err := s.Gateway(wiring.GatewayOptions{Config: gcfg, Coord: co, WebUI: true, Edge: ed, Errors: s.Errors, Context: ctx, Log: log})
	if err != nil {
		return err
	}
	log.Info("stickerd dev is up", "http", *httpAddr, "kafka", s.Brokers, "etcd", s.Client.Endpoints(),
		"scheduler", s.SchedulerAddrs(), "coord", s.Coord.Backend)
	fmt.Fprintf(os.Stderr, "stickerd dev: http://%s  (web UI at /, API under /v1; kafka %v, etcd %v)\n", *httpAddr, s.Brokers, s.Client.Endpoints())
	return health.Serve(ctx, *httpAddr, g.Handler())
}

func coordOf(c *sharedstate.Set) wiring.Coord {
	return wiring.Coord{Cache: c.Cache, Limiter: c.Limiter, Idempotency: c.Idempotency, Progress: c.Progress}
}

func hostID(prefix string) string {
	h, _ := os.Hostname()
	return prefix + "-" + h
}
