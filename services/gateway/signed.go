package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/jobs"
	"github.com/stickerd/stickerd/internal/jobstore"
	"github.com/stickerd/stickerd/internal/problem"
)

// Signed output links (docs/api.md, "Shareable links").
//
// A succeeded job's view carries output.signed_url:
//
//	/v1/renders/{id}/output?expires=UNIX&sig=BASE64URL
//
// (prefixed by Config.PublicURL when set). sig is the unpadded base64url
// HMAC-SHA256, under Config.URLSigningKey, of
//
//	"stickerd-output-v1" NUL id NUL tenant NUL fence NUL expires
//
// where tenant and fence (the revision of the assignment that wrote the
// output) are the job record's. A GET or HEAD of the output route that
// carries sig or expires is authorised by the signature alone, never by
// an API key: a valid one before its expiry serves the file as the keyed
// route does (Range, If-Range, 410 once deleted); anything else answers
// 403 SIGNATURE_INVALID, whatever the job, so a link reveals nothing of
// jobs it was not made for. Gateways that share the key honour each
// other's links; another key (a rotation, a random per-start key after a
// restart) makes every earlier link invalid.

// Query parameters of a signed link.
const (
	sigParam     = "sig"
	expiresParam = "expires"
)

// signedJobKey holds, in the gin context, the job a valid signed link
// named, so that the output handler does not read it again.
const signedJobKey = "stickerd.signed_job"

// signer makes and checks signed output links.
type signer struct {
	key    []byte
	ttl    time.Duration
	public string // Config.PublicURL without its trailing slash
}

// newSigner takes the config's key, or makes a random one (random says so).
func newSigner(cfg Config) (s signer, random bool, err error) {
	s = signer{key: cfg.URLSigningKey, ttl: cfg.SignedURLTTL, public: strings.TrimRight(cfg.PublicURL, "/")}
	if len(s.key) == 0 {
		s.key = make([]byte, 32)
		if _, err := rand.Read(s.key); err != nil {
			return s, false, err
		}
		random = true
	}
	return s, random, nil
}

// mac is the signature of a link to j's output that expires at expires.
func (s signer) mac(id jobs.ID, tenant string, fence, expires int64) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("stickerd-output-v1\x00" + string(id) + "\x00" + tenant + "\x00" +
		strconv.FormatInt(fence, 10) + "\x00" + strconv.FormatInt(expires, 10)))
	return m.Sum(nil)
}

// link is the signed link to j's output, valid until now+TTL.
func (s signer) link(j *jobs.Job, now time.Time) string {
	expires := now.Add(s.ttl).Unix()
	q := url.Values{}
	q.Set(expiresParam, strconv.FormatInt(expires, 10))
	q.Set(sigParam, base64.RawURLEncoding.EncodeToString(s.mac(j.ID, j.Tenant, j.Fence, expires)))
	return s.public + "/v1/renders/" + url.PathEscape(string(j.ID)) + "/output?" + q.Encode()
}

// errSignature is the answer to every link that does not check out.
func errSignature(detail string) error {
	return problem.New(errcode.SignatureInvalid, "%s", detail)
}

// signed reports whether a request presents a signed link.
func signed(c *gin.Context) bool {
	q := c.Request.URL.Query()
	return q.Has(sigParam) || q.Has(expiresParam)
}

// check verifies the signed link of a request and returns its job.
func (s signer) check(c *gin.Context, now time.Time, get func(jobs.ID) (*jobs.Job, error)) (*jobs.Job, error) {
	q := c.Request.URL.Query()
	if len(q[sigParam]) != 1 || len(q[expiresParam]) != 1 {
		return nil, errSignature("a signed link carries one expires and one sig parameter")
	}
	expires, err := strconv.ParseInt(q.Get(expiresParam), 10, 64)
	if err != nil || expires <= 0 {
		return nil, errSignature("the link's expires is not a Unix time")
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get(sigParam))
	if err != nil || len(sig) != sha256.Size {
		return nil, errSignature("the link's signature is not valid")
	}
	j, err := get(jobs.ID(c.Param("id")))
	switch {
	case errors.Is(err, jobstore.ErrNotFound), errors.Is(err, jobstore.ErrInvalid):
		// No such job: as for a bad signature, so that links reveal
		// nothing of which jobs exist.
		return nil, errSignature("the link's signature is not valid")
	case err != nil:
		return nil, err
	}
	if !hmac.Equal(sig, s.mac(j.ID, j.Tenant, j.Fence, expires)) {
		return nil, errSignature("the link's signature is not valid")
	}
	if !now.Before(time.Unix(expires, 0)) {
		return nil, errSignature("the link expired at " + time.Unix(expires, 0).UTC().Format(time.RFC3339) + "; get a fresh one from GET /v1/renders/{id}")
	}
	return j, nil
}

// signedOrKey authorises GET and HEAD of an output: by the signed link a
// request presents, by its API key otherwise.
func (g *Gateway) signedOrKey(c *gin.Context) {
	if !signed(c) {
		g.authenticate(c)
		return
	}
	j, err := g.signer.check(c, g.clock.Now(), func(id jobs.ID) (*jobs.Job, error) {
		ctx, cancel := g.storeCtx(c)
		defer cancel()
		return g.latestJob(ctx, id) // the link names the succeeded attempt: no trailing record
	})
	if err != nil {
		g.fail(c, err)
		return
	}
	c.Set(tenantKey, j.Tenant)
	c.Set(signedJobKey, j)
}

// outputJob is the job of an output request: the one a signed link
// named, or the tenant's job of the path, read from the store itself: a
// download refused with 409 must not rest on a cached record that trails
// the "succeeded" the client has just seen.
func (g *Gateway) outputJob(c *gin.Context) (*jobs.Job, error) {
	if v, ok := c.Get(signedJobKey); ok {
		return v.(*jobs.Job), nil
	}
	return g.loadLatestJob(c)
}
