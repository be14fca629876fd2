package stickerd

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stickerd/stickerd/sdk/go/stickerdtest"
)

const greetingTemplate = `{"name":"greeting","spec":{
  "source":{"color":"#102030","width":320,"height":240,"duration":1,"fps":10},
  "stickers":[{"type":"text","text":"Hello {{name}}!","size":"{{size}}"}]},
 "variables":{"name":{"type":"text","max_length":10},"size":{"type":"number","min":0.01,"max":0.5,"default":0.1}}}`

func TestTemplates_LifeCycle(t *testing.T) {
	_, c, _ := newFake(t, stickerdtest.Config{})
	ctx := testCtx(t)
	tpl, err := c.CreateTemplate(ctx, greetingTemplate)
	if err != nil || tpl.Version != 1 || tpl.Variables["size"].Type != "number" || !strings.HasPrefix(string(tpl.ID), "tpl_") {
		t.Fatalf("create: %+v, %v", tpl, err)
	}
	def := TemplateDefinition{Name: "greeting 2", Spec: tpl.Spec, Variables: tpl.Variables}
	v2, err := c.UpdateTemplate(ctx, tpl.ID, def)
	if err != nil || v2.Version != 2 || v2.Name != "greeting 2" {
		t.Fatalf("update: %+v, %v", v2, err)
	}
	if got, err := c.GetTemplate(ctx, tpl.ID, 1); err != nil || got.Name != "greeting" {
		t.Fatalf("get v1: %+v, %v", got, err)
	}
	var ids []TemplateID
	for tp, err := range c.AllTemplates(ctx, PageOptions{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tp.ID)
	}
	if len(ids) != 1 || ids[0] != tpl.ID {
		t.Fatalf("listed %v", ids)
	}
	job, _, err := c.RenderTemplate(ctx, TemplateRender{TemplateID: tpl.ID, TemplateVersion: 1, Variables: map[string]any{"name": "Ann"}})
	if err != nil || job.TemplateID != tpl.ID || job.TemplateVersion != 1 {
		t.Fatalf("render: %+v, %v", job, err)
	}
	_, _, err = c.RenderTemplate(ctx, TemplateRender{TemplateID: tpl.ID, Variables: map[string]any{"name": "a", "size": 0.9}})
	var ae *APIError
	if !IsCode(err, "SPEC_INVALID") || !asAPIError(err, &ae) || ae.Fields[0].Field != "variables.size" {
		t.Fatalf("out of range: %v", err)
	}
	_, err = c.CreateTemplate(ctx, strings.Replace(greetingTemplate, "{{name}}", "{{nmae}}", 1))
	if !IsCode(err, "SPEC_INVALID") || !asAPIError(err, &ae) || ae.Fields[0].Field != "spec.stickers[0].text" {
		t.Fatalf("undeclared placeholder: %v", err)
	}
	if err := c.DeleteTemplate(ctx, tpl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetTemplate(ctx, tpl.ID, 0); !IsStatus(err, 404) {
		t.Fatalf("after delete: %v", err)
	}
}

func TestBatches_SubmitWaitCancel(t *testing.T) {
	_, c, _ := newFake(t, stickerdtest.Config{})
	ctx := testCtx(t)
	tpl, err := c.CreateTemplate(ctx, json.RawMessage(greetingTemplate))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.SubmitBatch(ctx, BatchRequest{TemplateID: tpl.ID, Rows: []map[string]any{{"name": "Ann"}, {"name": 3}, {"name": "Bo"}}})
	if err != nil || b.Total != 3 || b.Accepted != 2 || len(b.Rejected) != 1 || b.Rejected[0].Row != 1 ||
		b.Rejected[0].Errors[0].Field != "variables.name" || b.Counts.Queued != 2 {
		t.Fatalf("submit: %+v, %v", b, err)
	}
	var rows []int
	var changes int
	done, err := c.WaitBatch(ctx, b.ID, func(*Batch) { changes++ }, func(r *BatchRow) { rows = append(rows, r.Row) })
	if err != nil || done.Status != BatchCompleted || done.Counts.Succeeded != 2 || done.Done() != 3 || len(rows) != 2 || changes == 0 {
		t.Fatalf("wait: %+v, rows %v, %v", done, rows, err)
	}
	page, err := c.GetBatch(ctx, b.ID, PageOptions{Limit: 2})
	if err != nil || len(page.Rows) != 2 || page.NextCursor == "" || page.Rows[0].JobID == nil || page.Rows[1].Status != "rejected" {
		t.Fatalf("page: %+v, %v", page, err)
	}
	if _, err := c.CancelBatch(ctx, b.ID); !IsStatus(err, 409) {
		t.Fatalf("cancel of an ended batch: %v", err)
	}
	csv, err := c.SubmitBatchCSV(ctx, tpl.ID, strings.NewReader("name,size\nCy,0.2\nDi,\n"), CSVOptions{})
	if err != nil || csv.Accepted != 2 {
		t.Fatalf("csv: %+v, %v", csv, err)
	}
}

func TestBatches_Cancel(t *testing.T) {
	_, c, _ := newFake(t, stickerdtest.Config{Hold: true})
	ctx := testCtx(t)
	tpl, _ := c.CreateTemplate(ctx, greetingTemplate)
	b, err := c.SubmitBatch(ctx, BatchRequest{TemplateID: tpl.ID, Rows: []map[string]any{{"name": "Ann"}, {"name": "Bo"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.CancelBatch(ctx, b.ID)
	if err != nil || got.Status != BatchCanceled || got.Counts.Canceled != 2 {
		t.Fatalf("cancel: %+v, %v", got, err)
	}
}

func asAPIError(err error, out **APIError) bool {
	ae, ok := err.(*APIError)
	if ok {
		*out = ae
	}
	return ok
}
