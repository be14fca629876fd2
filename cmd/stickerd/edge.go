package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/stickerd/stickerd/edge"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/errevents"
	"github.com/stickerd/stickerd/internal/flagenv"
	"github.com/stickerd/stickerd/internal/health"
	"github.com/stickerd/stickerd/internal/queue"
	"github.com/stickerd/stickerd/internal/tlsconf"
	"github.com/stickerd/stickerd/internal/tracing"
	"github.com/stickerd/stickerd/internal/wiring"
	"github.com/stickerd/stickerd/services/gateway"
)

func runEdge(ctx context.Context, args []string, log *slog.Logger) error {
	cfg := edge.DefaultConfig()
	fs := flag.NewFlagSet("edge", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8090", "signaling (POST /v1/rtc/sessions), health and metrics")
	dataDir := fs.String("data-dir", "./data", "data folder; with the default --blob-url, uploaded stickers are read from DATA_DIR/blobs")
	apiKeys := fs.String("api-keys-file", "", "file of tenant:key lines (without it a loopback-only edge accepts requests without a key)")
	var hostIPs, publicIPs, allowedHosts flagenv.List
	fs.Var(&allowedHosts, "allowed-hosts", "host names, comma-separated, that a loopback edge without API keys answers besides localhost, 127.0.0.1 and [::1]")
	fs.Var(&hostIPs, "ice-host-ips", "local addresses, comma-separated, offered as ICE host candidates (default: every non-loopback interface)")
	fs.Var(&publicIPs, "public-ip", "public addresses, comma-separated, advertised instead (an edge behind 1:1 NAT)")
	portMin := fs.Uint("udp-port-min", 0, "lowest UDP port for media (0 with --udp-port-max 0: the kernel's ephemeral ports)")
	portMax := fs.Uint("udp-port-max", 0, "highest UDP port for media (0 with --udp-port-min 0: the kernel's ephemeral ports)")
	fs.IntVar(&cfg.MaxSessions, "max-sessions", cfg.MaxSessions, "sessions this edge holds; more are answered 503")
	id := fs.String("id", hostID("edge"), "edge id")
	advertise := fs.String("advertise", "", "signaling base URL gateways send clients to, http(s)://HOST:PORT; a bare HOST:PORT means http:// (default: http://HTTP_ADDR)")
	var schedulers, brokers flagenv.List
	fs.Var(&brokers, "kafka-brokers", "Kafka brokers for error events (empty: counted locally only)")
	fs.Var(&schedulers, "schedulers", "scheduler gRPC addresses to heartbeat to, comma-separated (empty: no heartbeats)")
	fs.IntVar(&cfg.MaxSessionsPerTenant, "max-sessions-per-tenant", cfg.MaxSessionsPerTenant, "sessions one tenant may hold; more are answered 429")
	candidates := candidateFlags(fs)
	blobs := blobFlags(fs, dataDir)
	sec := securityFlags(fs, tlsconf.Serve|tlsconf.Dial|tlsconf.Token, usesKafka)
	tr := tracingFlags(fs, "edge")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	if err := sec.validate(false); err != nil {
		return err
	}
	stopTracing, err := tr.start(ctx, log, *id)
	if err != nil {
		return err
	}
	defer stopTracing()
	bs, err := blobs.open(ctx, sec, "")
	if err != nil {
		return err
	}
	for _, p := range []struct {
		flag string
		v    uint
	}{{"udp-port-min", *portMin}, {"udp-port-max", *portMax}} {
		if p.v > 65535 {
			return errUsage{fs, fmt.Errorf("--%s %d is not a port number", p.flag, p.v)}
		}
	}
	base, err := advertiseURL(*advertise, *httpAddr, sec.scheme())
	if err != nil {
		return errUsage{fs, err}
	}
	if err := checkPorts(listenFlag{"http-addr", *httpAddr}); err != nil {
		return err
	}
	cfg.ICEHostIPs, cfg.NAT1To1IPs = hostIPs, publicIPs
	candidates.apply(&cfg)
	cfg.ICEPortMin, cfg.ICEPortMax = uint16(*portMin), uint16(*portMax)
	var keys map[string]string
	if *apiKeys != "" {
		if keys, err = gateway.LoadAPIKeys(*apiKeys); err != nil {
			return err
		}
	}
	open := health.IsLoopback(*httpAddr) && len(keys) == 0
	resolver := func(r *http.Request) (string, error) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if t, found := keys[strings.TrimSpace(key)]; ok && found {
			return t, nil
		}
		if open {
			return gateway.DefaultTenant, nil
		}
		return "", errcode.New(errcode.Unauthorized, "a valid API key is required")
	}
	dial, err := sec.grpcDial()
	if err != nil {
		return err
	}
	errs, closeErrs, err := errorPublisher(brokers, "edge", sec)
	if err != nil {
		return err
	}
	defer closeErrs()
	ed, err := edge.New(cfg, edge.Deps{Tenant: resolver, Errors: edgeReporter(errs),
		Assets: wiring.EdgeAssets(bs)}, log)
	if err != nil {
		return err
	}
	defer ed.Close()
	mux := health.Handler()
	ed.Routes(mux)
	var h http.Handler = mux
	if open { // no key: refuse DNS rebinding and cross-site requests
		h = gateway.LocalOnly(mux, allowedHosts)
	}
	h = tracing.HTTPHandler(h, "stickerd-edge") // the offer's request span; off: h itself
	if len(schedulers) > 0 {
		go ed.Heartbeat(ctx, *id, base, cfg.MaxSessions, schedulers, time.Second, log, dial...)
	}
	log.Info("edge serving", "http", *httpAddr, "scheme", sec.scheme(), "advertise", base)
	return sec.serveHTTP(ctx, *httpAddr, h)
}

// candidateOpts are the flags on the addresses a client's ICE candidates
// may name, shared by `edge` and `dev`.
type candidateOpts struct{ allow, deny *flagenv.List }

func candidateFlags(fs *flag.FlagSet) candidateOpts {
	o := candidateOpts{allow: &flagenv.List{}, deny: &flagenv.List{}}
	fs.Var(o.allow, "rtc-allow-candidates", "addresses or CIDR ranges, comma-separated, that clients' ICE candidates may name although refused by default (link-local, loopback on an edge off loopback...)")
	fs.Var(o.deny, "rtc-deny-candidates", "addresses or CIDR ranges, comma-separated, that clients' ICE candidates may not name, besides link-local, metadata, multicast and broadcast ones (wins over --rtc-allow-candidates)")
	return o
}

func (o candidateOpts) apply(cfg *edge.Config) {
	cfg.AllowCandidates, cfg.DenyCandidates = *o.allow, *o.deny
}

// edgeReporter turns the edge's typed errors into error events.
func edgeReporter(p *errevents.Publisher) edge.ErrorReporter {
	return func(err error, id edge.SessionID, tenant string) {
		p.Report(context.Background(), errevents.FromError("edge", err, "", string(id), tenant))
	}
}

// errorPublisher makes the error-event publisher of a process: to Kafka
// when brokers are given, counted locally otherwise.
func errorPublisher(brokers []string, service string, sec *securityOpts) (*errevents.Publisher, func(), error) {
	var sink errevents.Sink
	var prod *queue.Producer
	if len(brokers) > 0 {
		qc, err := sec.queue(queue.Config{Brokers: brokers})
		if err != nil {
			return nil, nil, err
		}
		if prod, err = queue.NewProducer(qc); err != nil {
			return nil, nil, err
		}
		sink = prod
	}
	p, err := errevents.NewPublisher(sink, errevents.DefaultConfig(service))
	if err != nil {
		return nil, nil, err
	}
	return p, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		p.Close(ctx)
		cancel()
		if prod != nil {
			prod.Close()
		}
	}, nil
}

// advertiseURL is the base URL of the edge's signaling that gateways
// redirect clients to: --advertise, with scheme:// (http, or https when
// the edge serves TLS) added to a bare HOST:PORT (a redirect to
// "edge:8080/v1/..." would be a relative path), or scheme://HTTP_ADDR.
func advertiseURL(advertise, httpAddr, scheme string) (string, error) {
	if advertise == "" {
		return scheme + "://" + httpAddr, nil
	}
	if !strings.Contains(advertise, "://") {
		advertise = scheme + "://" + advertise
	}
	u, err := url.Parse(advertise)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("--advertise %q: want http(s)://HOST:PORT", advertise)
	}
	return strings.TrimSuffix(advertise, "/"), nil
}
