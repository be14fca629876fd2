package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	stickerd "github.com/stickerd/stickerd/sdk/go"
)

// serverOpts are the flags every command that talks to a server shares.
type serverOpts struct {
	url, apiKey string
}

func serverFlags(fs *flag.FlagSet) *serverOpts {
	o := &serverOpts{}
	fs.StringVar(&o.url, "server", envOr("STICKERD_SERVER", "http://127.0.0.1:8080"), "stickerd server URL ($STICKERD_SERVER)")
	fs.StringVar(&o.apiKey, "api-key", envOr("STICKERD_API_KEY", ""), "API key ($STICKERD_API_KEY)")
	return o
}

// client returns a client of the server, or says why --server is unusable.
func (o *serverOpts) client(stderr io.Writer) (*stickerd.Client, bool) {
	c := stickerd.New(o.url, stickerd.WithAPIKey(o.apiKey), stickerd.WithUserAgent("stickerctl/1"))
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintf(stderr, "stickerctl: --server %q: want http://HOST:PORT or https://HOST\n", o.url)
		return nil, false
	}
	return c, true
}

// reportErr prints err the way a shell user wants to read it and returns
// the exit code. refused is the code for a request the server turned down
// as invalid (4xx): exitInvalid for a render, exitFailed otherwise.
func reportErr(stderr io.Writer, server string, err error, refused int) int {
	var api *stickerd.APIError
	var job *stickerd.JobError
	var urlErr *url.Error
	var upload *uploadError
	prefix := ""
	if errors.As(err, &upload) {
		prefix = "uploading " + upload.file + " (" + upload.field + "): "
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "stickerctl: interrupted")
		return exitCanceled
	case errors.As(err, &api):
		printAPIError(stderr, prefix, api)
		switch {
		case api.Status == http.StatusUnauthorized || api.Status == http.StatusForbidden:
			fmt.Fprintln(stderr, "  (give the API key with --api-key or STICKERD_API_KEY)")
			return exitUsage
		case api.Status >= 400 && api.Status < 500 && api.Status != http.StatusTooManyRequests:
			return refused
		}
		return exitFailed
	case errors.As(err, &job):
		fmt.Fprintf(stderr, "stickerctl: %s: %s\n", job.Code, job.Message)
		if job.Code == "SPEC_INVALID" {
			return exitInvalid
		}
		return exitFailed
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintf(stderr, "stickerctl: cannot reach %s: connection refused — is `make run` running?\n", server)
		return exitFailed
	case errors.As(err, &urlErr):
		fmt.Fprintf(stderr, "stickerctl: cannot reach %s: %v\n", server, netCause(urlErr.Err))
		return exitFailed
	}
	fmt.Fprintf(stderr, "stickerctl: %v\n", err)
	return exitFailed
}

// printAPIError prints the problem and each invalid field on its own line.
func printAPIError(stderr io.Writer, prefix string, e *stickerd.APIError) {
	what := e.Code
	if what == "" {
		what = fmt.Sprintf("%d %s", e.Status, e.Title)
	}
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	fmt.Fprintf(stderr, "stickerctl: %s%s: %s\n", prefix, what, msg)
	for _, f := range e.Fields {
		fmt.Fprintf(stderr, "  %s: %s\n", f.Field, f.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(stderr, "  (the server asks to retry after %s)\n", e.RetryAfter)
	}
}

// netCause strips the "dial tcp 127.0.0.1:8080:" layers a person does not need.
func netCause(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns
	}
	if s := err.Error(); strings.HasPrefix(s, "EOF") {
		return errors.New("the server closed the connection")
	}
	return err
}
