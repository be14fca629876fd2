package deployments

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/stickerd/stickerd/internal/queue"
)

// loadCompose loads docker-compose.yml as `docker compose` would, with the
// given profiles and an empty environment, so every ${VAR:-default} takes
// its default (the stack must not need anything from the host).
func loadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName("stickerd", true)
		o.Profiles = profiles
	})
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// composeService is a stickerd service of the compose file: one built from
// deployments/docker, with the subcommand it runs.
type composeService struct {
	types.ServiceConfig
	role string
}

func (s composeService) env(name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func stickerdServices(t *testing.T, p *types.Project) []composeService {
	t.Helper()
	var out []composeService
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if s.Build == nil || !strings.HasPrefix(filepath.ToSlash(s.Build.Dockerfile), "deployments/docker/") {
			continue
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s: builds a stickerd image but names no subcommand", name)
			continue
		}
		out = append(out, composeService{ServiceConfig: s, role: s.Command[0]})
	}
	if len(out) == 0 {
		t.Fatal("docker-compose.yml has no service built from deployments/docker")
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestCompose_EveryServiceHasAHealthcheck(t *testing.T) {
	p := loadCompose(t, "gpu")
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) == 0 || hc.Test[0] == "NONE" {
			t.Errorf("service %s: no healthcheck", name)
			continue
		}
		if hc.Interval == nil || hc.Timeout == nil {
			t.Errorf("service %s: healthcheck without interval and timeout", name)
		}
		if slices.Contains(hc.Test, "stickerd-healthcheck") && (s.Build == nil || !strings.HasPrefix(s.Build.Dockerfile, "deployments/docker/")) {
			t.Errorf("service %s: uses stickerd-healthcheck, which only our images have", name)
		}
	}
}

func TestCompose_StickerdServicesAreWired(t *testing.T) {
	p := loadCompose(t, "gpu")
	etcd := composeEtcdMembers(t, p)
	if len(etcd) != 3 {
		t.Fatalf("want a 3-member etcd cluster, found %d members: %v", len(etcd), etcd)
	}
	brokers := composeKafkaBrokers(t, p)
	var schedulers []string
	for _, s := range stickerdServices(t, p) {
		if s.role == "scheduler" {
			adv := s.env("STICKERD_ADVERTISE")
			if host, _, _ := strings.Cut(adv, ":"); host != s.Name || portOf(adv) != portOf(s.env("STICKERD_GRPC_ADDR")) {
				t.Errorf("service %s: STICKERD_ADVERTISE=%q is not its own name and STICKERD_GRPC_ADDR port", s.Name, adv)
			}
			schedulers = append(schedulers, adv)
		}
	}
	if len(schedulers) < 2 {
		t.Errorf("want at least 2 scheduler replicas, found %v", schedulers)
	}
	var blobVolumes []string
	for _, s := range stickerdServices(t, p) {
		where := "service " + s.Name
		r, ok := roles[s.role]
		if !ok {
			t.Errorf("%s: runs unknown subcommand %q", where, s.role)
			continue
		}
		var names []string
		for k, v := range s.Environment {
			if strings.HasPrefix(k, "STICKERD_") && v == nil {
				t.Errorf("%s: %s is taken from the host's environment; give it a value", where, k)
			}
			names = append(names, k)
		}
		checkEnvNames(t, where, s.role, names)
		if r.oneShot {
			continue
		}
		if got := splitList(s.env("STICKERD_ETCD_ENDPOINTS")); r.etcd && !sameSet(got, etcd) {
			t.Errorf("%s: STICKERD_ETCD_ENDPOINTS=%v, want every member %v", where, got, etcd)
		}
		if got := splitList(s.env("STICKERD_KAFKA_BROKERS")); r.kafka && (len(got) == 0 || !sameSet(got, brokers)) {
			t.Errorf("%s: STICKERD_KAFKA_BROKERS=%v, want %v", where, got, brokers)
		}
		if got := splitList(s.env("STICKERD_SCHEDULERS")); r.schedulers && !sameSet(got, schedulers) {
			t.Errorf("%s: STICKERD_SCHEDULERS=%v, want every replica %v", where, got, schedulers)
		}
		if addr := s.env("STICKERD_HTTP_ADDR"); !strings.HasPrefix(addr, "0.0.0.0:") || portOf(addr) == "" {
			t.Errorf("%s: STICKERD_HTTP_ADDR=%q, want 0.0.0.0:PORT (reachable by Prometheus and by the healthcheck on 127.0.0.1)", where, addr)
		}
		wantFile := "Dockerfile"
		if s.role == "worker" {
			wantFile = "Dockerfile.worker"
			if slices.Contains(s.Profiles, "gpu") {
				wantFile = "Dockerfile.worker-gpu"
			}
		}
		if got := filepath.Base(s.Build.Dockerfile); got != wantFile {
			t.Errorf("%s: built from %s, want %s", where, got, wantFile)
		}
		if r.blobs {
			checkComposeBlobStore(t, p, s)
			blobVolumes = append(blobVolumes, s.env("STICKERD_BLOB_URL")+" at "+s.env("STICKERD_S3_ENDPOINT"))
		}
		if s.ContainerName != "" {
			t.Errorf("%s: container_name makes the service unscalable and the project host-specific", where)
		}
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(blobVolumes))); len(distinct) != 1 {
		t.Errorf("gateways, workers, the edge and the schedulers must share one blob store, they use %v", blobVolumes)
	}
}

// checkComposeBlobStore: a service that reads or writes blobs uses the
// bucket of the compose S3 server over https (verified with the CA), with
// credentials, and mounts no blob volume.
func checkComposeBlobStore(t *testing.T, p *types.Project, s composeService) {
	t.Helper()
	where := "service " + s.Name
	if u := s.env("STICKERD_BLOB_URL"); !strings.HasPrefix(u, "s3://") {
		t.Errorf("%s: STICKERD_BLOB_URL=%q, want the s3:// bucket", where, u)
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(s.env("STICKERD_S3_ENDPOINT"), "https://"), ":")
	if !strings.HasPrefix(s.env("STICKERD_S3_ENDPOINT"), "https://") {
		t.Errorf("%s: STICKERD_S3_ENDPOINT=%q, want https:// (TLS between every pair of services)", where, s.env("STICKERD_S3_ENDPOINT"))
	} else if _, ok := p.Services[host]; !ok {
		t.Errorf("%s: STICKERD_S3_ENDPOINT names %q, which is no service", where, host)
	} else if _, ok := s.DependsOn[host]; !ok {
		t.Errorf("%s: does not wait for %s", where, host)
	}
	if s.env("STICKERD_S3_PATH_STYLE") != "true" || s.env("AWS_ACCESS_KEY_ID") == "" || s.env("AWS_SECRET_ACCESS_KEY") == "" {
		t.Errorf("%s: wants STICKERD_S3_PATH_STYLE=true and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY", where)
	}
	for _, v := range s.Volumes {
		if strings.HasSuffix(v.Target, "/blobs") {
			t.Errorf("%s: mounts %s at %s; the blob store is the S3 bucket", where, v.Source, v.Target)
		}
	}
}

// composeEtcdMembers checks the etcd services' cluster settings and returns
// their client endpoints (host:port).
func composeEtcdMembers(t *testing.T, p *types.Project) []string {
	t.Helper()
	var endpoints, peers []string
	clusters := map[string]bool{}
	for _, name := range sortedKeys(p.Services) {
		s := composeService{ServiceConfig: p.Services[name]}
		if s.env("ETCD_NAME") == "" {
			continue
		}
		if s.env("ETCD_NAME") != name {
			t.Errorf("service %s: ETCD_NAME=%q, want the service name", name, s.env("ETCD_NAME"))
		}
		url := s.env("ETCD_ADVERTISE_CLIENT_URLS")
		client, ok := strings.CutPrefix(url, "https://")
		if !ok {
			t.Errorf("service %s: advertises client URL %q, not https://", name, url)
		}
		if host, _, _ := strings.Cut(client, ":"); host != name {
			t.Errorf("service %s: advertises client URL %q, not its own name", name, client)
		}
		endpoints = append(endpoints, url)
		peers = append(peers, name+"="+s.env("ETCD_INITIAL_ADVERTISE_PEER_URLS"))
		clusters[s.env("ETCD_INITIAL_CLUSTER")] = true
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && strings.HasPrefix(s.env("ETCD_DATA_DIR"), v.Target+"/")
		}) {
			t.Errorf("service %s: ETCD_DATA_DIR=%q is not on a named volume", name, s.env("ETCD_DATA_DIR"))
		}
	}
	if len(clusters) != 1 {
		t.Errorf("etcd members disagree on ETCD_INITIAL_CLUSTER: %v", sortedKeys(clusters))
	}
	for c := range clusters {
		if !sameSet(splitList(c), peers) {
			t.Errorf("ETCD_INITIAL_CLUSTER=%q, want exactly the members %v", c, peers)
		}
	}
	return endpoints
}

// composeKafkaBrokers returns the in-network address of every Kafka broker
// (its SSL advertised listener).
func composeKafkaBrokers(t *testing.T, p *types.Project) []string {
	t.Helper()
	var out []string
	for _, name := range sortedKeys(p.Services) {
		s := composeService{ServiceConfig: p.Services[name]}
		if !strings.Contains(s.env("KAFKA_PROCESS_ROLES"), "broker") {
			continue
		}
		for _, l := range splitList(s.env("KAFKA_ADVERTISED_LISTENERS")) {
			if addr, ok := strings.CutPrefix(l, "SSL://"); ok {
				out = append(out, addr)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no Kafka broker with an SSL listener in docker-compose.yml")
	}
	return out
}

func TestCompose_KafkaTopicsAreCreated(t *testing.T) {
	p := loadCompose(t)
	var init *composeService
	for _, name := range sortedKeys(p.Services) {
		s := composeService{ServiceConfig: p.Services[name]}
		if s.env("KAFKA_TOPICS") != "" {
			init = &s
		}
	}
	if init == nil {
		t.Fatal("no topic-creating service (with KAFKA_TOPICS) in docker-compose.yml")
	}
	if got := strings.Fields(init.env("KAFKA_TOPICS")); !sameSet(got, queue.Topics()) {
		t.Errorf("%s creates %v, want the topics of docs/api.md %v", init.Name, got, queue.Topics())
	}
	schedulers := 0
	for _, s := range stickerdServices(t, p) {
		if s.role == "scheduler" {
			schedulers++
		}
		if r := roles[s.role]; r.kafka {
			if d, ok := s.DependsOn[init.Name]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
				t.Errorf("service %s uses Kafka but does not wait for %s to complete", s.Name, init.Name)
			}
		}
	}
	if n, err := strconv.Atoi(init.env("KAFKA_TOPIC_PARTITIONS")); err != nil || n < schedulers {
		t.Errorf("%s: KAFKA_TOPIC_PARTITIONS=%q, want at least the %d scheduler replicas", init.Name, init.env("KAFKA_TOPIC_PARTITIONS"), schedulers)
	}
}

func TestCompose_PublishedPortsDoNotClash(t *testing.T) {
	p := loadCompose(t, "gpu")
	type binding struct{ service, hostIP string }
	taken := map[string][]binding{} // "proto/port" → who publishes it
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if len(s.Ports) > 0 && replicas(s) > 1 {
			t.Errorf("service %s: runs %d replicas but publishes fixed host ports", name, replicas(s))
		}
		for _, pc := range s.Ports {
			if pc.Published == "" {
				t.Errorf("service %s: port %d is published on a random host port", name, pc.Target)
				continue
			}
			lo, hi, err := portRange(pc.Published)
			if err != nil {
				t.Errorf("service %s: published port %q: %v", name, pc.Published, err)
				continue
			}
			proto := cmpOr(pc.Protocol, "tcp")
			for port := lo; port <= hi; port++ {
				key := fmt.Sprintf("%s/%d", proto, port)
				for _, other := range taken[key] {
					if other.hostIP == pc.HostIP || other.hostIP == "" || pc.HostIP == "" || other.hostIP == "0.0.0.0" || pc.HostIP == "0.0.0.0" {
						t.Errorf("host port %s is published by both %s and %s", key, other.service, name)
					}
				}
				taken[key] = append(taken[key], binding{name, pc.HostIP})
			}
		}
	}
}

func replicas(s types.ServiceConfig) int {
	if s.Scale != nil {
		return *s.Scale
	}
	if s.Deploy != nil && s.Deploy.Replicas != nil {
		return *s.Deploy.Replicas
	}
	return 1
}

func portRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(a); err != nil {
		return 0, 0, err
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(b); err != nil {
			return 0, 0, err
		}
	}
	if lo < 1 || hi > 65535 || hi < lo {
		return 0, 0, fmt.Errorf("bad range %d-%d", lo, hi)
	}
	return lo, hi, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func TestCompose_GPUProfile(t *testing.T) {
	p := loadCompose(t, "gpu")
	var gpu []string
	for _, s := range stickerdServices(t, p) {
		if !slices.Contains(s.Profiles, "gpu") {
			continue
		}
		gpu = append(gpu, s.Name)
		if s.role != "worker" {
			t.Errorf("service %s: in the gpu profile but runs %q, not worker", s.Name, s.role)
		}
		var devs []types.DeviceRequest
		if s.Deploy != nil && s.Deploy.Resources.Reservations != nil {
			devs = s.Deploy.Resources.Reservations.Devices
		}
		if !slices.ContainsFunc(devs, func(d types.DeviceRequest) bool {
			return d.Driver == "nvidia" && (d.Count > 0 || d.Count == -1 || len(d.IDs) > 0) &&
				slices.Contains(d.Capabilities, "gpu") && slices.Contains(d.Capabilities, "video")
		}) {
			t.Errorf("service %s: reserves no NVIDIA device with the gpu and video capabilities: %+v", s.Name, devs)
		}
	}
	if len(gpu) == 0 {
		t.Fatal("the gpu profile has no GPU worker")
	}
	// Without the profile the stack must not ask for a GPU.
	plain := loadCompose(t)
	for _, name := range gpu {
		if _, ok := plain.Services[name]; ok {
			t.Errorf("service %s starts without --profile gpu", name)
		}
	}
	for _, name := range sortedKeys(plain.Services) {
		if d := plain.Services[name].Deploy; d != nil && d.Resources.Reservations != nil && len(d.Resources.Reservations.Devices) > 0 {
			t.Errorf("service %s reserves devices outside the gpu profile", name)
		}
	}
}

func TestCompose_DependsOnHealthyServices(t *testing.T) {
	for _, profiles := range [][]string{nil, {"gpu"}} {
		p := loadCompose(t, profiles...)
		for _, name := range sortedKeys(p.Services) {
			for dep, d := range p.Services[name].DependsOn {
				target, ok := p.Services[dep]
				if !ok {
					t.Errorf("profiles %v: service %s depends on %s, which does not run", profiles, name, dep)
					continue
				}
				switch d.Condition {
				case types.ServiceConditionHealthy:
					if target.HealthCheck == nil || target.HealthCheck.Disable {
						t.Errorf("service %s waits for %s to be healthy, which has no healthcheck", name, dep)
					}
				case types.ServiceConditionCompletedSuccessfully:
					if target.Restart != "" && target.Restart != "no" {
						t.Errorf("service %s waits for %s to complete, but it restarts (%s)", name, dep, target.Restart)
					}
				default:
					t.Errorf("service %s depends on %s with condition %q; want service_healthy or service_completed_successfully", name, dep, d.Condition)
				}
			}
		}
	}
}

func TestCompose_Volumes(t *testing.T) {
	p := loadCompose(t, "gpu")
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, name := range sortedKeys(p.Services) {
		for _, v := range p.Services[name].Volumes {
			switch v.Type {
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("service %s mounts volume %q, which is not declared", name, v.Source)
				}
				used[v.Source] = true
			case types.VolumeTypeBind:
				rel, err := filepath.Rel(root, v.Source)
				if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
					t.Errorf("service %s bind-mounts %s, outside the repository", name, v.Source)
					continue
				}
				// The monitoring configuration is written alongside; ours must exist.
				if strings.HasPrefix(filepath.ToSlash(rel), "deployments/") {
					if _, err := os.Stat(v.Source); err != nil {
						t.Errorf("service %s bind-mounts %s: %v", name, rel, err)
					}
				}
				if !v.ReadOnly {
					t.Errorf("service %s bind-mounts %s read-write", name, rel)
				}
			default:
				t.Errorf("service %s has a %s mount at %s; use named volumes", name, v.Type, v.Target)
			}
		}
	}
	for _, name := range sortedKeys(p.Volumes) {
		if !used[name] {
			t.Errorf("volume %s is declared but no service mounts it", name)
		}
	}
	for _, want := range []string{"etcd-1-data", "etcd-2-data", "etcd-3-data", "kafka-data", "redis-data", "s3-data", "prometheus-data", "grafana-data"} {
		if _, ok := p.Volumes[want]; !ok {
			t.Errorf("no named volume %s", want)
		}
	}
}

// TestCompose_TLSEverywhere checks that every pair of services talks TLS
// (docs/security.md): the certs one-shot writes the certificates into a
// volume every service mounts after it completed; stickerd services have
// their certificate, key and CA and reach etcd, Kafka and Redis over TLS;
// etcd, Kafka and Redis require client certificates; nginx verifies the
// gateways.
func TestCompose_TLSEverywhere(t *testing.T) {
	p := loadCompose(t, "gpu")
	certs, ok := p.Services["certs"]
	if !ok || len(certs.Command) == 0 || certs.Command[0] != "certs" || !slices.Contains(certs.Command, "--out") {
		t.Fatalf("no certs service running `stickerd certs --out DIR`: %v", certs.Command)
	}
	if certs.Restart != "no" {
		t.Errorf("certs restarts (%q); it runs once", certs.Restart)
	}
	mountsCerts := func(s types.ServiceConfig) bool {
		return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Source == "certs" && v.Target == "/certs" })
	}
	if !mountsCerts(certs) {
		t.Error("certs does not write into the certs volume at /certs")
	}
	// after reports whether s waits, directly or through what it waits
	// for, for certs to complete.
	var after func(name string, seen map[string]bool) bool
	after = func(name string, seen map[string]bool) bool {
		if seen[name] {
			return false
		}
		seen[name] = true
		for dep, d := range p.Services[name].DependsOn {
			if dep == "certs" && d.Condition == types.ServiceConditionCompletedSuccessfully || after(dep, seen) {
				return true
			}
		}
		return false
	}
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		if name == "certs" || !mountsCerts(s) {
			continue
		}
		if !after(name, map[string]bool{}) {
			t.Errorf("service %s mounts the certificates without waiting for certs to complete", name)
		}
	}
	for _, s := range stickerdServices(t, p) {
		r := roles[s.role]
		if r.oneShot {
			continue
		}
		where := "service " + s.Name
		if !mountsCerts(s.ServiceConfig) {
			t.Errorf("%s: does not mount the certificates", where)
		}
		for _, v := range []string{"STICKERD_TLS_CERT", "STICKERD_TLS_KEY", "STICKERD_TLS_CA"} {
			if !strings.HasPrefix(s.env(v), "/certs/") {
				t.Errorf("%s: %s=%q, want a file of the certs volume", where, v, s.env(v))
			}
		}
		if r.kafka && s.env("STICKERD_KAFKA_TLS") != "true" {
			t.Errorf("%s: STICKERD_KAFKA_TLS is not true", where)
		}
		if url := s.env("STICKERD_REDIS_URL"); url != "" && !strings.HasPrefix(url, "rediss://") {
			t.Errorf("%s: STICKERD_REDIS_URL=%q, want rediss://", where, url)
		}
		if e := s.env("STICKERD_OTLP_ENDPOINT"); e != "" && (!strings.HasPrefix(e, "https://") || !strings.HasPrefix(s.env("OTEL_EXPORTER_OTLP_CERTIFICATE"), "/certs/")) {
			t.Errorf("%s: STICKERD_OTLP_ENDPOINT=%q, want https:// verified with OTEL_EXPORTER_OTLP_CERTIFICATE from the certs volume", where, e)
		}
		if s.role == "edge" && !strings.HasPrefix(s.env("STICKERD_ADVERTISE"), "https://") {
			t.Errorf("%s: advertises %q, want https://", where, s.env("STICKERD_ADVERTISE"))
		}
	}
	for _, name := range sortedKeys(p.Services) {
		s := composeService{ServiceConfig: p.Services[name]}
		if s.env("ETCD_NAME") != "" {
			for _, v := range []string{"ETCD_CLIENT_CERT_AUTH", "ETCD_PEER_CLIENT_CERT_AUTH"} {
				if s.env(v) != "true" {
					t.Errorf("etcd %s: %s is not true", name, v)
				}
			}
			for _, v := range []string{"ETCD_LISTEN_CLIENT_URLS", "ETCD_LISTEN_PEER_URLS", "ETCD_INITIAL_ADVERTISE_PEER_URLS"} {
				if !strings.HasPrefix(s.env(v), "https://") {
					t.Errorf("etcd %s: %s=%q, want https://", name, v, s.env(v))
				}
			}
		}
		if strings.Contains(s.env("KAFKA_PROCESS_ROLES"), "broker") {
			for _, pair := range splitList(s.env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")) {
				if _, proto, _ := strings.Cut(pair, ":"); proto != "SSL" {
					t.Errorf("kafka %s: listener %s is not SSL", name, pair)
				}
			}
			if s.env("KAFKA_SSL_CLIENT_AUTH") != "required" {
				t.Errorf("kafka %s: KAFKA_SSL_CLIENT_AUTH=%q, want required", name, s.env("KAFKA_SSL_CLIENT_AUTH"))
			}
		}
		if strings.HasPrefix(s.Image, "redis:") {
			cmd := strings.Join(s.Command, " ")
			if !strings.Contains(cmd, "--port 0") || !strings.Contains(cmd, "--tls-port") || !strings.Contains(cmd, "--tls-auth-clients yes") {
				t.Errorf("redis %s: not TLS-only with client certificates: %s", name, cmd)
			}
		}
	}
	nginx, err := os.ReadFile(filepath.Join(repoRoot, "deployments/compose/nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"proxy_pass https://", "proxy_ssl_verify on", "proxy_ssl_trusted_certificate /certs/ca.crt"} {
		if !strings.Contains(string(nginx), want) {
			t.Errorf("nginx.conf lacks %q: the gateways are HTTPS", want)
		}
	}
}
