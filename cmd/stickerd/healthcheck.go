package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// runHealthcheck is for container HEALTHCHECKs: it GETs a path of this
// container's own HTTP address (STICKERD_HTTP_ADDR) and exits non-zero
// unless the answer is 2xx.
func runHealthcheck(ctx context.Context, args []string, _ *slog.Logger) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	httpAddr := fs.String("http-addr", "127.0.0.1:8080", "the process's HTTP address (0.0.0.0:P and :P are dialled as 127.0.0.1:P)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args, 1); err != nil {
		return err
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	fmt.Fprintln(os.Stdout, "ok")
	return nil
}
