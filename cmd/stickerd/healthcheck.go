package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/stickerd/stickerd/internal/tlsconf"
)

// runHealthcheck is for container HEALTHCHECKs: it GETs a path of this
// container's own HTTP address (STICKERD_HTTP_ADDR) and exits non-zero
// unless the answer is 2xx.
func runHealthcheck(ctx context.Context, args []string, _ *slog.Logger) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "the process's HTTP address (0.0.0.0:P and :P are dialled as 127.0.0.1:P)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	caFile := fs.String("tls-ca", "", "CA bundle (PEM) that verifies a process serving TLS (its certificate must name 127.0.0.1); a plain http:// request answered as by a TLS listener is repeated over https://")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
	}
	client := http.DefaultClient
	if *caFile != "" {
		tc, err := tlsconf.Config{CAFile: *caFile}.Client()
		if err != nil {
			return errUsage{fs, err}
		}
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	target := "/readyz"
	if fs.NArg() > 0 {
		target = fs.Arg(0)
	}
	url := target
	if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
		host := *httpAddr
		if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, ":") {
			host = "127.0.0.1:" + host[strings.LastIndex(host, ":")+1:]
		}
		url = "http://" + host + target
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	get := func(url string) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return resp, body, nil
	}
	resp, body, err := get(url)
	if err != nil {
		return err
	}
	// Go's TLS listeners answer a plain-text request with this 400: the
	// process serves HTTPS (gateway and edge with --tls-cert).
	if resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(url, "http://") && strings.Contains(string(body), "HTTP request to an HTTPS server") {
		url = "https://" + strings.TrimPrefix(url, "http://")
		if resp, _, err = get(url); err != nil {
			return err
		}
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	fmt.Fprintln(os.Stdout, "ok")
	return nil
}
