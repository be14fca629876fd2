package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// tunedClient is an HTTP client for many requests in flight to one host:
// a connection per request in flight, kept open between requests.
func tunedClient(conns int, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// loopbackOnly refuses to aim load at anything but 127.0.0.1.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Hostname() != "127.0.0.1" {
		return fmt.Errorf("load goes to 127.0.0.1 only, not %s", u.Host)
	}
	return nil
}
