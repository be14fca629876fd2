package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/flagenv"
	"github.com/stickerd/stickerd/internal/tlsconf"
)

// certService is a certificate `stickerd certs` issues: who it is for,
// what it may do, and the names it carries besides localhost, 127.0.0.1
// and ::1 (the compose services and the Kubernetes Services and pods).
type certService struct {
	name  string
	usage tlsconf.Usage
	hosts []string
}

var certServices = []certService{
	{"gateway", tlsconf.ServerAuth | tlsconf.ClientAuth, []string{"gateway-1", "gateway-2", "stickerd-gateway"}},
	{"scheduler", tlsconf.ServerAuth | tlsconf.ClientAuth, []string{"scheduler-1", "scheduler-2", "stickerd-scheduler"}},
	{"worker", tlsconf.ClientAuth, []string{"worker-gpu", "stickerd-worker"}},
	{"edge", tlsconf.ServerAuth | tlsconf.ClientAuth, []string{"stickerd-edge"}},
	{"monitor", tlsconf.ClientAuth, []string{"stickerd-monitor"}},
	{"etcd", tlsconf.ServerAuth | tlsconf.ClientAuth, []string{"etcd-1", "etcd-2", "etcd-3", "etcd-0.etcd", "etcd-1.etcd", "etcd-2.etcd"}},
	{"kafka", tlsconf.ServerAuth | tlsconf.ClientAuth, []string{"kafka-0.kafka"}},
	{"redis", tlsconf.ServerAuth | tlsconf.ClientAuth, nil},
	{"s3", tlsconf.ServerAuth, []string{"stickerd-s3"}}, // the blob store of compose (versitygw)
	// The OTLP receiver of traces: Jaeger in compose, an OpenTelemetry
	// Collector in Kubernetes (deployments/README.md).
	{"otel", tlsconf.ServerAuth, []string{"jaeger", "otel-collector", "otel-collector.observability"}},
}

// runCerts creates a CA and a certificate and key per service in --out,
// for compose and Kubernetes (docs/security.md). A CA already there is
// reused, and so are certificates it issued, unless --force: the command
// is safe to run at every start.
func runCerts(_ context.Context, args []string, log *slog.Logger) error {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	out := fs.String("out", "./certs", "folder for ca.crt, ca.key and SERVICE.crt, SERVICE.key (kafka.pem: key and certificate in one file, Kafka's PEM keystore)")
	var hosts, services, owners flagenv.List
	fs.Var(&hosts, "hosts", "more names and addresses, comma-separated: NAME for every certificate, SERVICE=NAME for one (scheduler=sched.example.com)")
	fs.Var(&services, "services", "certificates to issue, comma-separated (default: "+strings.Join(certNames(), ",")+")")
	fs.Var(&owners, "chown", "owners of the files when run as root, comma-separated: UID:GID for all, SERVICE=UID:GID for one service's (kafka=1000:1000)")
	validFor := fs.Duration("valid-for", 365*24*time.Hour, "lifetime of the service certificates")
	caValidFor := fs.Duration("ca-valid-for", 10*365*24*time.Hour, "lifetime of a new CA")
	force := fs.Bool("force", false, "issue every service certificate again (the CA is kept; delete ca.crt and ca.key for a new one)")
	if err := parseFlags(fs, args, 0); err != nil {
		return err
	}
	plan, err := certPlan(services, hosts)
	if err != nil {
		return errUsage{fs, err}
	}
	own, err := parseOwners(owners)
	if err != nil {
		return errUsage{fs, err}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	w := certWriter{dir: *out, own: own}
	caCert, caKey := filepath.Join(*out, "ca.crt"), filepath.Join(*out, "ca.key")
	ca, err := tlsconf.LoadCA(caCert, caKey)
	fresh := false
	switch {
	case err == nil:
		log.Info("reusing the CA", "cert", caCert)
	case errors.Is(err, os.ErrNotExist):
		if ca, err = tlsconf.NewCA("stickerd cluster CA", *caValidFor); err != nil {
			return err
		}
		keyPEM, err := ca.KeyPEM()
		if err != nil {
			return err
		}
		if err := w.write("ca.key", "", keyPEM, 0o600); err != nil {
			return err
		}
		if err := w.write("ca.crt", "", ca.CertPEM, 0o644); err != nil {
			return err
		}
		fresh = true
	default:
		return err
	}
	for _, s := range plan {
		crt := filepath.Join(*out, s.name+".crt")
		if !*force && !fresh && issuedBy(crt, ca, *validFor/10) {
			log.Info("keeping the certificate", "service", s.name)
			continue
		}
		certPEM, keyPEM, err := ca.Issue(s.name, s.hosts, s.usage, *validFor)
		if err != nil {
			return err
		}
		if err := w.write(s.name+".key", s.name, keyPEM, 0o600); err != nil {
			return err
		}
		if err := w.write(s.name+".crt", s.name, certPEM, 0o644); err != nil {
			return err
		}
		if s.name == "kafka" {
			if err := w.write("kafka.pem", s.name, append(append([]byte{}, keyPEM...), certPEM...), 0o600); err != nil {
				return err
			}
		}
		log.Info("issued", "service", s.name, "names", s.hosts)
	}
	fmt.Fprintf(os.Stdout, "certificates in %s (CA %s)\n", *out, caCert)
	return nil
}

func certNames() []string {
	var n []string
	for _, s := range certServices {
		n = append(n, s.name)
	}
	return n
}

// certPlan is the certificates to issue, each with every name it carries.
func certPlan(services, hosts []string) ([]certService, error) {
	byName := map[string]certService{}
	for _, s := range certServices {
		byName[s.name] = s
	}
	if len(services) == 0 {
		services = certNames()
	}
	var plan []certService
	for _, n := range services {
		s, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("--services: unknown service %q (want some of %s)", n, strings.Join(certNames(), ","))
		}
		s.hosts = append([]string{s.name, "localhost", "127.0.0.1", "::1"}, s.hosts...)
		plan = append(plan, s)
	}
	for _, h := range hosts {
		svc, name, one := strings.Cut(h, "=")
		if !one {
			name = h
		}
		matched := false
		for i := range plan {
			if !one || plan[i].name == svc {
				plan[i].hosts = append(plan[i].hosts, name)
				matched = true
			}
		}
		if one && !matched {
			if _, known := byName[svc]; !known {
				return nil, fmt.Errorf("--hosts %q: unknown service %q", h, svc)
			}
		}
	}
	return plan, nil
}

type owner struct{ uid, gid int }

// parseOwners reads --chown: "" is the default owner, SERVICE one service's.
func parseOwners(list []string) (map[string]owner, error) {
	out := map[string]owner{}
	for _, e := range list {
		svc, ids, one := strings.Cut(e, "=")
		if !one {
			svc, ids = "", e
		}
		u, g, _ := strings.Cut(ids, ":")
		uid, err1 := strconv.Atoi(u)
		gid, err2 := strconv.Atoi(cmpOrString(g, u))
		if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
			return nil, fmt.Errorf("--chown %q: want UID:GID or SERVICE=UID:GID", e)
		}
		out[svc] = owner{uid, gid}
	}
	return out, nil
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// certWriter writes the files with their modes and owners.
type certWriter struct {
	dir string
	own map[string]owner
}

func (w certWriter) write(name, service string, b []byte, mode os.FileMode) error {
	f := filepath.Join(w.dir, name)
	tmp := f + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil { // whatever the umask
		return err
	}
	o, ok := w.own[service]
	if !ok {
		o, ok = w.own[""]
	}
	if ok {
		if err := os.Chown(tmp, o.uid, o.gid); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("--chown: %w", err)
		}
	}
	return os.Rename(tmp, f)
}

// issuedBy reports whether the certificate in file was issued by ca and
// stays valid for at least margin.
func issuedBy(file string, ca *tlsconf.CA, margin time.Duration) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return false
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil || time.Until(c.NotAfter) < margin {
		return false
	}
	return c.CheckSignatureFrom(ca.Cert) == nil
}
