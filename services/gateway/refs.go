package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/fetch"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/render/spec"
	"github.com/stickerd/stickerd/services/assets"
	"github.com/stickerd/stickerd/services/gateway/resultcache"
)

// lookupTimeout bounds the DNS lookups of one request's URLs.
const lookupTimeout = 3 * time.Second

// roles say what kind of asset each use in a spec needs, and what a
// wrong kind answers.
var roles = map[resultcache.Role]struct {
	kind assets.Kind
	code errcode.Code
	use  string
}{
	resultcache.RoleSource:  {assets.KindVideo, errcode.SourceUnreadable, "a source; use a video, or a blank canvas source for stickers alone"},
	resultcache.RoleSticker: {assets.KindImage, errcode.AssetUnsupported, "a sticker; use PNG, JPEG, WebP, GIF or APNG"},
	resultcache.RoleFont:    {assets.KindFont, errcode.AssetUnsupported, "a font; upload a TrueType or OpenType file"},
}

// checkRefs checks what sp refers to before a job is made of it: every URL
// must resolve to public addresses (400 SPEC_INVALID naming the field,
// unless AllowPrivateURLs), and every asset id must be one of the tenant's
// uploads of a usable kind (422 naming the field). It returns the content
// hashes of the assets, by id, for the result-cache key.
func (g *Gateway) checkRefs(c *gin.Context, tenant string, sp *spec.Spec) (map[string]string, error) {
	if fields := g.checkURLs(c.Request.Context(), sp); len(fields) > 0 {
		f := problem.New(errcode.SpecInvalid, "the render request is invalid")
		f.Fields = fields
		return nil, f
	}
	hashes := map[string]string{}
	var (
		fields []errcode.FieldError
		code   errcode.Code
	)
	for _, r := range resultcache.AssetRefs(sp) {
		ctx, cancel := g.storeCtx(c)
		a, err := g.deps.Assets.Get(ctx, tenant, r.ID)
		cancel()
		switch {
		case errors.Is(err, assets.ErrNotFound):
			fields = append(fields, errcode.FieldError{Field: r.Field, Message: "no asset " + r.ID})
			code = cmp(code, errcode.AssetNotFound)
			continue
		case err != nil:
			return nil, err
		}
		hashes[a.ID] = a.SHA256
		if role := roles[r.Role]; a.Kind != role.kind {
			fields = append(fields, errcode.FieldError{Field: r.Field, Message: fmt.Sprintf("asset %s is a %s, which cannot be %s", a.ID, a.Kind, role.use)})
			code = cmp(code, role.code)
		}
	}
	if len(fields) > 0 {
		f := problem.New(code, "the render request refers to assets it cannot use").WithStatus(http.StatusUnprocessableEntity)
		f.Fields = fields
		return nil, f
	}
	return hashes, nil
}

// cmp keeps the first code found.
func cmp(have, next errcode.Code) errcode.Code {
	if have != "" {
		return have
	}
	return next
}

// checkURLs refuses URLs whose host is, or resolves to, a non-public
// address: the source and sticker URLs the worker fetches, and the
// webhook_url the scheduler posts to. A host written as a number in a form
// other than dotted decimal (2130706433, 0177.0.0.1, 127.1, 0x7f.1) is
// refused even with AllowPrivateURLs. A name that does not resolve now is
// let through: the worker's fetcher and the webhook sender check the
// address again at dial time.
func (g *Gateway) checkURLs(ctx context.Context, sp *spec.Spec) []errcode.FieldError {
	type ref struct{ field, raw string }
	var refs []ref
	if sp.Source.URL != "" {
		refs = append(refs, ref{"source.url", sp.Source.URL})
	}
	for i, st := range sp.Stickers {
		if st.URL != "" {
			refs = append(refs, ref{fmt.Sprintf("stickers[%d].url", i), st.URL})
		}
	}
	if sp.WebhookURL != "" {
		refs = append(refs, ref{"webhook_url", sp.WebhookURL})
	}
	if len(refs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	var fields []errcode.FieldError
	verdicts := map[string]string{} // host → "" (fine) or why not
	for _, r := range refs {
		if err := fetch.CheckURL(r.raw); err != nil {
			fields = append(fields, errcode.FieldError{Field: r.field, Message: "must be an http or https URL without credentials"})
			continue
		}
		u, _ := url.Parse(r.raw)
		host := u.Hostname()
		why, seen := verdicts[host]
		if !seen {
			why = g.hostVerdict(ctx, host)
			verdicts[host] = why
		}
		if why != "" {
			fields = append(fields, errcode.FieldError{Field: r.field, Message: why})
		}
	}
	return fields
}

// hostVerdict says why host may not be used, or "" when it may. The
// answer names the host as the client wrote it, never the address a name
// resolved to: that would map the operator's internal DNS for anyone.
func (g *Gateway) hostVerdict(ctx context.Context, host string) string {
	err := fetch.CheckHost(host)
	switch {
	case errors.Is(err, fetch.ErrNumericHost) && !errors.Is(err, fetch.ErrForbiddenAddress):
		return fmt.Sprintf("the host %s is a number that is not a dotted-decimal address; write the address as a.b.c.d", host)
	case err != nil && g.cfg.AllowPrivateURLs && !errors.Is(err, fetch.ErrNumericHost):
		return ""
	case err != nil:
		return fmt.Sprintf("the host %s is a loopback, private, link-local or metadata address; such URLs are refused", host)
	case g.cfg.AllowPrivateURLs:
		return ""
	}
	if _, literal := netip.ParseAddr(host); literal == nil {
		return "" // a public address
	}
	addrs, err := g.deps.Resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if !fetch.Public(a) {
			return fmt.Sprintf("the host %s resolves to a loopback, private, link-local or metadata address; such URLs are refused", host)
		}
	}
	return ""
}
