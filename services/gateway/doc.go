// Package gateway is stickerd's public REST API (docs/api.md, "REST
// API"), served with gin: uploads, render submission with idempotency keys,
// a result cache and backpressure, job reads, listings and Server-Sent
// Events, output downloads with Range support, the built-in sticker
// catalogue and the OpenAPI document. Every error is an RFC 9457
// problem+json whose code comes from the taxonomy of internal/errcode.
// The realtime routes (/v1/rtc/...) and the web UI mount themselves on
// Engine.
package gateway
