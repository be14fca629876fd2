// Package webhook delivers job notifications to the webhook_url of a
// render request, signed the Standard Webhooks way (standardwebhooks.com)
// so receivers can use any of that spec's libraries: headers webhook-id
// (one per message, the same on every retry), webhook-timestamp (unix
// seconds, fresh on every attempt) and webhook-signature ("v1,<base64
// HMAC-SHA256 of id.timestamp.body>", several space-separated while a
// secret is being rotated).
//
// A Sender retries network errors, 429 and 5xx with exponential backoff
// and jitter (honouring Retry-After), gives up at once on any other
// answer, and reports the final failure as errcode WEBHOOK_FAILED. Like
// internal/fetch it only dials public addresses, checked after DNS
// resolution, and follows neither proxies nor redirects: a webhook URL is
// user input and must not reach the operator's internal network.
//
// Verify is the receiver's side, for stickerd's own tests and for Go
// clients.
package webhook
