package wiring

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/stickerd/stickerd/internal/blob"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/etcd"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/kafkaembed"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/internal/sharedstate"
	"github.com/stickerd/stickerd/monitoring/monitor"
	"github.com/stickerd/stickerd/render"
	"github.com/stickerd/stickerd/services/submit"
	"github.com/stickerd/stickerd/services/webhook"
	"github.com/stickerd/stickerd/worker"
)

// Stack is a running pipeline.
type Stack struct {
	cfg       Config
	log       *slog.Logger
	Etcd      *etcd.Member
	Kafka     *kafkaembed.Broker
	Brokers   []string
	Client    *clientv3.Client
	Store     *jobstore.Store
	Producer  *queue.Producer
	Blobs     blob.Store
	Engine    *render.Engine
	Submitter *submit.Submitter
	Errors    *errevents.Publisher
	Coord     *sharedstate.Set
	Webhooks  *Webhooks
	Replicas  []*Replica
	Workers   []*WorkerProc

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
}

// WorkerProc is one in-process worker.
type WorkerProc struct {
	Worker *worker.Worker
	cancel context.CancelFunc
	done   chan struct{}
}

// Start brings the pipeline up; Close takes it down.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if cfg.BlobDir == "" {
		cfg.BlobDir = filepath.Join(cfg.DataDir, "blobs")
	}
	s := &Stack{cfg: cfg, log: log, ctx: sctx, cancel: cancel, Blobs: cfg.Blobs}
	if s.Blobs == nil {
		s.Blobs = blob.Dir{Root: cfg.BlobDir}
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.startStore(ctx); err != nil {
		return nil, err
	}
	if err := s.startKafka(ctx); err != nil {
		return nil, err
	}
	if cfg.Renderer == nil && cfg.Workers > 0 {
		if s.Engine, err = render.New(ctx, cfg.Render); err != nil {
			return nil, err
		}
	}
	s.Submitter = &submit.Submitter{Store: s.Store, Pub: s.Producer, Log: log}
	service := cfg.Service
	if service == "" {
		service = "dev"
	}
	if s.Errors, err = errevents.NewPublisher(s.Producer, errevents.DefaultConfig(service)); err != nil {
		return nil, err
	}
	if s.Coord, err = sharedstate.Open(ctx, cfg.Coord); err != nil {
		return nil, err
	}
	if cfg.Webhook.Secret == "" {
		cfg.Webhook.Secret = webhook.NewSecret()
		log.Warn("no webhook secret configured; signing with a random one (receivers cannot verify across restarts)")
	}
	if s.Webhooks, err = NewWebhooks(sctx, cfg.Webhook, s.Errors, log); err != nil {
		return nil, err
	}
	if cfg.Monitor {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := monitor.Run(s.ctx, monitor.Config{Brokers: s.Brokers, Logger: log}); err != nil && s.ctx.Err() == nil {
				log.Error("monitor stopped", "err", err)
			}
		}()
	}
	for i := 0; i < cfg.Schedulers; i++ {
		if _, err := s.AddReplica(); err != nil {
			return nil, err
		}
	}
	for i := 0; i < cfg.Workers; i++ {
		if _, err := s.AddWorker(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Stack) startStore(ctx context.Context) error {
	var err error
	endpoints := s.cfg.EtcdEndpoints
	if len(endpoints) == 0 {
		if s.Etcd, err = etcd.StartMember(ctx, s.cfg.Etcd); err != nil {
			return fmt.Errorf("wiring: etcd: %w", err)
		}
		endpoints = s.Etcd.Endpoints()
		s.wg.Add(1)
		go func() { defer s.wg.Done(); etcd.WatchLeader(s.ctx, endpoints, 2*time.Second) }()
	}
	if s.Client, err = etcd.Dial(ctx, endpoints); err != nil {
		return fmt.Errorf("wiring: etcd: %w", err)
	}
	s.Store = jobstore.New(s.Client, jobstore.DefaultPrefix)
	return nil
}

func (s *Stack) startKafka(ctx context.Context) error {
	s.Brokers = s.cfg.KafkaBrokers
	if len(s.Brokers) == 0 {
		b, err := kafkaembed.Start(kafkaembed.Config{Addr: s.cfg.KafkaListen, Topics: queue.Topics()})
		if err != nil {
			return fmt.Errorf("wiring: kafka: %w", err)
		}
		s.Kafka, s.Brokers = b, []string{b.Addr()}
	} else if err := queue.EnsureTopics(ctx, s.Brokers, 4, 1, queue.Topics()...); err != nil {
		return fmt.Errorf("wiring: kafka topics: %w", err)
	}
	var err error
	s.Producer, err = queue.NewProducer(s.queueConfig())
	return err
}

func (s *Stack) queueConfig() queue.Config {
	c := queue.DefaultConfig()
	c.Brokers = s.Brokers
	return c
}

// AddReplica starts another scheduler replica.
func (s *Stack) AddReplica() (*Replica, error) {
	s.mu.Lock()
	n := len(s.Replicas)
	s.mu.Unlock()
	cfg := s.cfg.Scheduler
	cfg.ID = fmt.Sprintf("%s-%d", cfg.ID, n)
	r, err := StartReplica(s.ctx, ReplicaConfig{Scheduler: cfg, Listen: s.listenAddr(n),
		EtcdEndpoints: s.Client.Endpoints(), Brokers: s.Brokers, Producer: s.Producer, Errors: s.Errors,
		Progress: s.Coord.Progress, Notify: s.Webhooks.Notify, Clock: s.cfg.Clock, Log: s.log, Blobs: s.Blobs})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.Replicas = append(s.Replicas, r)
	s.mu.Unlock()
	return r, nil
}

func (s *Stack) listenAddr(n int) string {
	addr := s.cfg.SchedulerListen
	if n == 0 || addr == "" {
		if addr == "" {
			return "127.0.0.1:0"
		}
		return addr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, "0")
}

// SchedulerAddrs lists the replicas' gRPC addresses.
func (s *Stack) SchedulerAddrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.Replicas {
		out = append(out, r.Addr)
	}
	return out
}

// Leader returns the replica that dispatches now, or nil.
func (s *Stack) Leader() *Replica {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.Replicas {
		if r.Scheduler.Leading() {
			return r
		}
	}
	return nil
}

// AddWorker starts another in-process worker connected to every replica.
func (s *Stack) AddWorker() (*WorkerProc, error) {
	s.mu.Lock()
	n := len(s.Workers)
	s.mu.Unlock()
	cfg := s.cfg.Worker
	cfg.ID = fmt.Sprintf("%s-%d", cfg.ID, n)
	cfg.Schedulers = s.SchedulerAddrs()
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	var r worker.Renderer
	if s.Engine != nil {
		r = Renderer(s.Engine)
	}
	if s.cfg.Renderer != nil {
		r = s.cfg.Renderer
	}
	w, err := worker.New(cfg, worker.Deps{Renderer: r, Blobs: s.Blobs, Errors: s.Errors}, s.log)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	p := &WorkerProc{Worker: w, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(p.done); _ = w.Run(ctx) }()
	s.mu.Lock()
	s.Workers = append(s.Workers, p)
	s.mu.Unlock()
	return p, nil
}

// Kill stops the worker abruptly, as kill -9 would.
func (p *WorkerProc) Kill() {
	p.Worker.Kill()
	<-p.done
}

// Stop drains the worker (bounded by timeout) and stops it.
func (p *WorkerProc) Stop(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	p.Worker.Drain(ctx)
	cancel()
	p.cancel()
	<-p.done
}

// Close stops everything.
func (s *Stack) Close() {
	s.mu.Lock()
	ws, rs := s.Workers, s.Replicas
	s.mu.Unlock()
	for _, w := range ws {
		w.cancel()
		<-w.done
	}
	for _, r := range rs {
		r.Close()
	}
	if s.Webhooks != nil {
		s.Webhooks.Wait(2 * time.Second)
	}
	s.cancel()
	s.wg.Wait()
	if s.Coord != nil {
		s.Coord.Close()
	}
	if s.Errors != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.Errors.Close(ctx)
		cancel()
	}
	if s.Producer != nil {
		s.Producer.Close()
	}
	if s.Kafka != nil {
		s.Kafka.Close()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.Etcd != nil {
		s.Etcd.Close()
	}
}
