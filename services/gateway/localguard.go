package gateway

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
)

// A gateway on loopback without API keys takes every request as
// DefaultTenant, so a browser must not be able to reach it on someone
// else's behalf:
//
//   - DNS rebinding: a page of attacker.example rebinds its name to
//     127.0.0.1 and talks to the gateway as its own origin. Only requests
//     whose Host is a loopback name or address (or one of
//     Config.AllowedHosts) are answered.
//   - Cross-site requests: a page anywhere posts a form or a fetch to
//     http://127.0.0.1:8080. A request that changes state (POST, PUT,
//     PATCH, DELETE) is answered only without an Origin (curl, stickerctl)
//     or from the gateway's own origin, and never when the browser says
//     Sec-Fetch-Site is cross-site or same-site.
//
// The web UI and /live are served by the gateway itself: same origin.
// With API keys none of this applies: a browser cannot send the key on its
// own.

// localGuard is the gin middleware of the checks above.
func (g *Gateway) localGuard(c *gin.Context) {
	if len(g.keys) != 0 || !g.cfg.Loopback {
		return
	}
	if reason := localRefusal(c.Request, g.cfg.AllowedHosts); reason != "" {
		g.fail(c, localRefused(reason))
	}
}

// LocalOnly wraps h, a keyless handler on loopback (`stickerd edge`
// without API keys), with the DNS-rebinding and cross-site checks of a
// keyless loopback gateway: a refused request is answered 403
// problem+json with code UNAUTHORIZED. allowedHosts are further Host
// names to accept, as Config.AllowedHosts.
func LocalOnly(h http.Handler, allowedHosts []string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason := localRefusal(r, allowedHosts)
		if reason == "" {
			h.ServeHTTP(w, r)
			return
		}
		problem.Write(w, r, localRefused(reason))
	})
}

// localRefused is the 403 UNAUTHORIZED of a refused request: the key is
// not what is wrong, where the request comes from is.
func localRefused(reason string) *problem.Error {
	return problem.New(errcode.Unauthorized, "%s", reason).WithStatus(http.StatusForbidden)
}

// localRefusal says why r may not reach a keyless loopback service, or ""
// when it may.
func localRefusal(r *http.Request, allowedHosts []string) string {
	if !localHost(r.Host, allowedHosts) {
		return "the Host header must name this machine (localhost, 127.0.0.1 or [::1]) on a gateway without API keys; " +
			"a page whose name points here (DNS rebinding) is refused. Give the gateway API keys, or --allowed-hosts, to serve other names"
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return ""
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "Sec-Fetch-Site is " + site + ": a gateway without API keys accepts changes only from its own pages"
	}
	if origin := r.Header.Get("Origin"); origin != "" && !sameOrigin(origin, r) {
		return "the Origin " + origin + " is not this gateway's: a gateway without API keys accepts changes only from its own pages"
	}
	return ""
}

// localHost reports whether hostport (a Host header) names this machine:
// localhost or a name under .localhost, an address of 127.0.0.0/8, ::1,
// or one of allowed; any port.
func localHost(hostport string, allowed []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "."))
	if host == "" {
		return false
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Zone() == "" && a.Unmap().IsLoopback()
	}
	for _, h := range allowed {
		if strings.EqualFold(strings.TrimSuffix(h, "."), host) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether origin (an Origin header) is the origin r was
// sent to: the same host name and port, a missing port being the scheme's
// default (a Host without a port matches http's 80 and https's 443, for a
// TLS proxy in front).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.User != nil {
		return false // "null" included: an opaque origin is never ours
	}
	oport := u.Port()
	if oport == "" {
		oport = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		host, port = r.Host, ""
	}
	if !strings.EqualFold(strings.Trim(host, "[]"), u.Hostname()) {
		return false
	}
	if port == "" {
		return oport == map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return port == oport
}
