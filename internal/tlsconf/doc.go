// Package tlsconf is how stickerd's processes trust each other: the TLS
// settings every command shares (--tls-cert, --tls-key, --tls-ca,
// --tls-client-cert, --tls-client-key, --tls-server-name, --join-token and
// their STICKERD_* twins), the server and client *tls.Config built from
// them (TLS 1.2 at least), and the gRPC options of the scheduler and of the
// workers and edges that connect to it.
//
// The zero Config is plain text, which is what `stickerd dev` runs on
// loopback. A scheduler given --tls-cert and --tls-key serves TLS; given
// --tls-ca as well, it requires a client certificate issued by that CA
// (tls.RequireAndVerifyClientCert, clientAuth extended key usage); given
// --join-token, every call must carry the token (compared in constant
// time). Refused connections and calls are counted in
// stickerd_scheduler_auth_refused_total{reason} and logged.
//
// Certificates are read again when their files change (checked at most
// every few seconds), so a renewed certificate (cert-manager, a cron job)
// is served without a restart.
package tlsconf
