package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
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
	"github.com/stickerd/stickerd/internal/tlsconf"
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
	fs.StringVar(&cfg.Name, "name", cfg.Name, "member name in the cluster")
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "member data folder (WAL and database)")
	clients, peers := flagenv.List(cfg.ClientURLs), flagenv.List(cfg.PeerURLs)
	fs.Var(&clients, "client-urls", "client URLs, http://HOST:PORT, comma-separated (listened on and advertised)")
	fs.Var(&peers, "peer-urls", "peer URLs, http://HOST:PORT, comma-separated (listened on and advertised)")
	fs.StringVar(&cfg.InitialCluster, "initial-cluster", "", "name=peerURL,... of every member (default: this member alone)")
	fs.StringVar(&cfg.InitialClusterState, "initial-cluster-state", "new", "new, or existing to join a running cluster (ignored once DATA_DIR holds a member)")
	fs.StringVar(&cfg.ClusterToken, "cluster-token", cfg.ClusterToken, "cluster token that keeps two clusters on one network apart")
	httpAddr := fs.String("http-addr", "127.0.0.1:8079", "health and metrics address")
	kvTLSFlags(fs, &cfg)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	cfg.ClientURLs, cfg.PeerURLs, cfg.Logger = clients, peers, log
	if err := cfg.Validate(); err != nil {
		return errUsage{fs, err}
	}
	self := etcd.ClientConfig{Endpoints: cfg.ClientURLs}
	if cfg.CertFile != "" { // the member's own pair has the clientAuth usage
		tc, err := tlsconf.Config{CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, CAFile: cfg.TrustedCAFile}.Client()
		if err != nil {
			return err
		}
		self.TLS = tc
	}
	ports := []listenFlag{{"http-addr", *httpAddr}}
	for _, u := range clients {
		ports = append(ports, listenFlag{"client-urls", urlHost(u)})
	}
	for _, u := range peers {
		ports = append(ports, listenFlag{"peer-urls", urlHost(u)})
	}
	if err := checkPorts(ports...); err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return etcdPortFlags(etcd.Run(ctx, cfg), "client-urls", "peer-urls") })
	g.Go(func() error { return health.Serve(ctx, *httpAddr, health.Handler()) })
	g.Go(func() error { etcd.WatchLeaderConfig(ctx, self, 2*time.Second); return nil })
	return g.Wait()
}

func runMonitor(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	brokers := flagenv.List{"127.0.0.1:9092"}
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers, comma-separated")
	httpAddr := fs.String("http-addr", "127.0.0.1:8083", "health and metrics address")
	sec := securityFlags(fs, tlsconf.Dial, usesKafka)
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := sec.validate(false); err != nil {
		return err
	}
	if err := checkPorts(listenFlag{"http-addr", *httpAddr}); err != nil {
		return err
	}
	qc, err := sec.queue(queue.Config{Brokers: brokers})
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return monitor.Run(ctx, monitor.Config{Brokers: brokers, Logger: log, Queue: qc}) })
	g.Go(func() error { return health.Serve(ctx, *httpAddr, health.Handler()) })
	return g.Wait()
}

func runKafka(ctx context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	listen := fs.String("kafka-listen", kafkaembed.DefaultAddr, "broker listen address (a wildcard host listens everywhere and advertises 127.0.0.1)")
	partitions := fs.Int("partitions", kafkaembed.DefaultPartitions, "partitions of each stickerd topic (0: the default)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8078", "health and metrics address")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := checkPorts(listenFlag{"kafka-listen", *listen}, listenFlag{"http-addr", *httpAddr}); err != nil {
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
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often workers and edges beat (the scheduler tells them)")
	fs.DurationVar(&cfg.HeartbeatTTL, "heartbeat-ttl", cfg.HeartbeatTTL, fmt.Sprintf("silence after which a worker is lost, plus %s grace and up to %s jitter (at least --heartbeat-interval)",
		cfg.HeartbeatGrace, cfg.HeartbeatJitter))
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", cfg.MaxAttempts, "attempts of a job before it fails with ATTEMPTS_EXHAUSTED (at least 1)")
	fs.Float64Var(&cfg.SplitMinSeconds, "split-min-seconds", cfg.SplitMinSeconds, "encoding work, in seconds of video, above which a render's parts go to many workers at once; 0 never splits")
	fs.Float64Var(&cfg.TargetUtilization, "target-utilization", cfg.TargetUtilization, "CPU/GPU load, over 0 and at most 1, above which a worker that is already busy gets no more work")
	fs.DurationVar(&cfg.ElectionTTL, "election-ttl", cfg.ElectionTTL, "leader lease in whole seconds, at least 1s: a standby takes over about this long after the leader dies")
}

func runScheduler(ctx context.Context, args []string, log *slog.Logger) error {
	cfg := scheduler.DefaultConfig()
	fs := flag.NewFlagSet("scheduler", flag.ContinueOnError)
	schedulerFlags(fs, &cfg)
	retention := retentionFlags(fs, true)
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:9095", "gRPC listen address for workers and edges")
	fs.StringVar(&cfg.Advertise, "advertise", "", "address workers use to reach this replica (default: the bound --grpc-addr)")
	etcd := flagenv.List{"127.0.0.1:2379"}
	brokers := flagenv.List{"127.0.0.1:9092"}
	fs.Var(&etcd, "etcd-endpoints", "etcd endpoints, comma-separated")
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers, comma-separated")
	httpAddr := fs.String("http-addr", "127.0.0.1:8081", "health and metrics address")
	redisURL := fs.String("redis-url", "", "Redis for progress fan-out to gateways in other processes")
	webhookSecret := fs.String("webhook-secret", "", "whsec_… secret that signs webhooks (default: a random one per start, with a warning)")
	allowPrivate := fs.Bool("allow-private-urls", false, "let webhooks reach private and loopback addresses")
	sec := securityFlags(fs, tlsconf.Serve|tlsconf.Dial|tlsconf.RequireClients|tlsconf.Token, usesEtcd|usesKafka)
	tr := tracingFlags(fs, "scheduler")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := sec.validate(true); err != nil {
		return err
	}
	stopTracing, err := tr.start(ctx, log, cfg.ID)
	if err != nil {
		return err
	}
	defer stopTracing()
	if err := checkPorts(listenFlag{"grpc-addr", *grpcAddr}, listenFlag{"http-addr", *httpAddr}); err != nil {
		return err
	}
	grpcOpts, err := sec.grpcServer(log)
	if err != nil {
		return err
	}
	ec, err := sec.etcd(etcd)
	if err != nil {
		return err
	}
	qc, err := sec.queue(queue.Config{Brokers: brokers})
	if err != nil {
		return err
	}
	cc := sharedstate.DefaultConfig()
	cc.RedisURL = *redisURL
	if err := sec.redis(&cc); err != nil {
		return err
	}
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
	retention.apply(&cfg)
	bs, err := retention.open(ctx, sec, filepath.Join(os.TempDir(), "stickerd-scheduler-blob-scratch"))
	if err != nil {
		return err
	}
	r, err := wiring.StartReplica(ctx, wiring.ReplicaConfig{Scheduler: cfg, Listen: *grpcAddr, EtcdEndpoints: etcd, Brokers: brokers,
		Etcd: ec, Queue: qc, GRPCOptions: grpcOpts, Progress: set.Progress, Notify: hooks.Notify, Log: log, Blobs: bs})
	if err != nil {
		return err
	}
	log.Info("scheduler serving", "grpc", r.Addr, "grpc_security", describeTLS(sec.tls), "http", *httpAddr)
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
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "renders at once (the default is half this machine's CPU cores, at least 1)")
	dataDir := fs.String("data-dir", "./data", "data folder: blobs/ (uploads and outputs, shared with the gateway, with the default --blob-url), work/ scratch space, blob-scratch/ S3 downloads, cache/ engine cache")
	fs.BoolVar(&rcfg.DisableGPU, "disable-gpu", false, "use libx264 even where NVENC is usable")
	fs.IntVar(&rcfg.Threads, "ffmpeg-threads", rcfg.Threads, "threads of each ffmpeg run: decoder, filters and encoder (0: ffmpeg's choice, about one a core)")
	fs.BoolVar(&cfg.AllowPrivateURLs, "allow-private-urls", false, "let URL assets come from private addresses")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "on SIGTERM, how long to finish jobs before handing them back")
	fs.Int64Var(&cfg.ScratchBytes, "scratch-bytes", cfg.ScratchBytes, "bound of the cache of a remote blob store's assets under work/scratch/, least recently used evicted first")
	var brokers flagenv.List
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers for error events (empty: counted locally only)")
	httpAddr := fs.String("http-addr", "127.0.0.1:8082", "health and metrics address")
	blobs := blobFlags(fs, dataDir)
	sec := securityFlags(fs, tlsconf.Dial|tlsconf.Token, usesKafka)
	tr := tracingFlags(fs, "worker")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := sec.validate(false); err != nil {
		return err
	}
	stopTracing, err := tr.start(ctx, log, cfg.ID)
	if err != nil {
		return err
	}
	defer stopTracing()
	bs, err := blobs.open(ctx, sec, filepath.Join(*dataDir, "blob-scratch"))
	if err != nil {
		return err
	}
	if err := checkPorts(listenFlag{"http-addr", *httpAddr}); err != nil {
		return err
	}
	dial, err := sec.grpcDial()
	if err != nil {
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
	caps := eng.Capabilities()
	log.Info("render engine ready", "ffmpeg", caps.FFmpegVersion, "encoder", enc.Name, "reason", enc.Reason,
		"gpu", caps.GPU, "gpu_chains", caps.GPUChains, "gpu_chain_detail", caps.GPUChainDetail)
	errs, closeErrs, err := errorPublisher(brokers, "worker", sec)
	if err != nil {
		return err
	}
	defer closeErrs()
	w, err := worker.New(cfg, worker.Deps{Renderer: wiring.Renderer(eng), Blobs: bs, Errors: errs, DialOptions: dial}, log)
	if err != nil {
		return err
	}
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
	dataDir := fs.String("data-dir", "./data", "data folder: etcd/, blobs/, work/, cache/")
	kafkaListen := fs.String("kafka-listen", "127.0.0.1:9092", "embedded Kafka broker address (port 0: a free one; unused with --kafka-brokers)")
	etcdClient := fs.String("etcd-listen-client", "127.0.0.1:2379", "embedded etcd client address, HOST:PORT (unused with --etcd-endpoints)")
	etcdPeer := fs.String("etcd-listen-peer", "127.0.0.1:2380", "embedded etcd peer address, HOST:PORT (unused with --etcd-endpoints)")
	grpcAddr := fs.String("grpc-addr", "127.0.0.1:9095", "scheduler gRPC address (port 0: a free one)")
	var brokers, etcd flagenv.List
	fs.Var(&brokers, "kafka-brokers", "use these Kafka brokers, comma-separated, instead of the embedded one")
	fs.Var(&etcd, "etcd-endpoints", "use this etcd cluster, comma-separated endpoints, instead of the embedded member")
	redisURL := fs.String("redis-url", "", "use Redis (redis://host:port/db) for the cache, rate limits, idempotency and progress instead of in-process state; it must answer at start")
	workers := fs.Int("workers", 1, "in-process workers (0: none, jobs wait in the queue)")
	concurrency := fs.Int("concurrency", worker.DefaultConfig().Concurrency, "renders at once per worker (the default is half this machine's CPU cores, at least 1)")
	threads := fs.Int("ffmpeg-threads", render.DefaultConfig().Threads, "threads of each ffmpeg run: decoder, filters and encoder (0: ffmpeg's choice, about one a core)")
	splitMin := fs.Float64("split-min-seconds", scheduler.DefaultConfig().SplitMinSeconds, "encoding work, in seconds of video, above which a render's parts go to many workers at once (with --workers 2 or more); 0 never splits")
	scratchBytes := fs.Int64("scratch-bytes", worker.DefaultConfig().ScratchBytes, "bound of each worker's cache of a remote blob store's assets under work/scratch/, least recently used evicted first")
	gw := gatewayFlags(fs, true)
	blobs := blobFlags(fs, dataDir)
	retention := retentionFlags(fs, false)
	candidates := candidateFlags(fs)
	tr := tracingFlags(fs, "dev")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	stopTracing, err := tr.start(ctx, log, "")
	if err != nil {
		return err
	}
	defer stopTracing()
	bcfg, err := blobs.config(nil, filepath.Join(*dataDir, "blob-scratch"))
	if err != nil {
		return err
	}
	rate, unlimited, err := gw.rateLimit()
	if err != nil {
		return err
	}
	ports := []listenFlag{{"http-addr", *httpAddr}, {"grpc-addr", *grpcAddr}}
	if len(brokers) == 0 {
		ports = append(ports, listenFlag{"kafka-listen", *kafkaListen})
	}
	if len(etcd) == 0 {
		ports = append(ports, listenFlag{"etcd-listen-client", *etcdClient}, listenFlag{"etcd-listen-peer", *etcdPeer})
	}
	if err := checkPorts(ports...); err != nil {
		return err
	}
	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	cfg := wiring.DefaultConfig(dir)
	if cfg.Blobs, err = blob.Open(ctx, bcfg); err != nil {
		return err
	}
	cfg.Log, cfg.KafkaListen, cfg.KafkaBrokers, cfg.EtcdEndpoints = log, *kafkaListen, brokers, etcd
	cfg.Etcd.ClientURLs, cfg.Etcd.PeerURLs = []string{"http://" + *etcdClient}, []string{"http://" + *etcdPeer}
	cfg.Etcd.Logger = log
	cfg.SchedulerListen, cfg.Workers, cfg.Worker.Concurrency = *grpcAddr, *workers, *concurrency
	cfg.Scheduler.SplitMinSeconds, cfg.Render.Threads = *splitMin, *threads
	retention.apply(&cfg.Scheduler)
	cfg.Worker.ScratchBytes = *scratchBytes
	cfg.Monitor = true
	cfg.Coord.RedisURL = *redisURL
	cfg.Coord.RateLimit = rate
	cfg.Webhook.Secret, cfg.Webhook.AllowPrivate = *gw.webhookSecret, *gw.allowPrivate
	cfg.Worker.AllowPrivateURLs = *gw.allowPrivate
	startCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	s, err := wiring.Start(startCtx, cfg)
	cancel()
	if err != nil {
		return etcdPortFlags(err, "etcd-listen-client", "etcd-listen-peer")
	}
	defer s.Close()
	gcfg, err := gw.config(*httpAddr)
	if err != nil {
		return err
	}
	co := coordOf(s.Coord)
	if unlimited {
		co.Limiter = nil
	}
	ecfg := edge.DefaultConfig()
	candidates.apply(&ecfg)
	ed, err := edge.New(ecfg, edge.Deps{Tenant: wiring.EdgeTenant, Assets: wiring.EdgeAssets(s.Blobs),
		Errors: edgeReporter(s.Errors)}, log)
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
	// stderr is for JSON log lines; the banner is for the person at the terminal.
	fmt.Fprintf(os.Stdout, "stickerd dev: http://%s  (web UI at /, API under /v1; kafka %v, etcd %v)\n", *httpAddr, s.Brokers, s.Client.Endpoints())
	return health.Serve(ctx, *httpAddr, g.Handler())
}

func coordOf(c *sharedstate.Set) wiring.Coord {
	return wiring.Coord{Cache: c.Cache, Limiter: c.Limiter, Idempotency: c.Idempotency, Progress: c.Progress}
}

// urlHost is the host:port of an http://HOST:PORT URL, or u itself when it
// is not one (the command refuses it later, with a better message).
func urlHost(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return u
}

func hostID(prefix string) string {
	h, _ := os.Hostname()
	return prefix + "-" + h
}
