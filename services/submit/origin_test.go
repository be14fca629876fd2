package submit

import (
	"context"
	"testing"
	"time"

	"github.com/stickerd/stickerd/internal/jobstore"
)

func TestOrigin_RecordedOnEveryPath(t *testing.T) {
	store := jobstore.NewMemory()
	s := &Submitter{Store: store}
	ctx := WithOrigin(context.Background(), Origin{TemplateID: "tpl_a", TemplateVersion: 3})
	j, err := s.Submit(ctx, "acme", parse(t, "a"))
	if err != nil || j.TemplateID != "tpl_a" || j.TemplateVersion != 3 {
		t.Fatalf("submit: %+v, %v", j, err)
	}
	k := jobstore.IdemKey{Tenant: "acme", Key: "k", BodyHash: "h", TTL: time.Hour}
	j, _, err = s.SubmitIdempotent(ctx, "acme", parse(t, "b"), k)
	if err != nil || j.TemplateID != "tpl_a" || j.TemplateVersion != 3 {
		t.Fatalf("idempotent submit: %+v, %v", j, err)
	}
	if j, _ := s.Submit(context.Background(), "acme", parse(t, "c")); j.TemplateID != "" {
		t.Fatalf("a plain submit has a template: %+v", j)
	}
}
