package gateway

import (
	"maps"

	"github.com/stickerd/stickerd/internal/templates"
	"github.com/stickerd/stickerd/services/batches"
)

// templateBatchPaths documents the template and batch routes.
func templateBatchPaths() obj {
	tplResp := jsonResp("The template version.", "Template")
	tplID := obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string", "pattern": "^tpl_"}}
	batID := obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string", "pattern": "^bat_"}}
	defBody := obj{"required": true, "content": jsonContent(schemaRef("TemplateDefinition"))}
	return obj{
		"/v1/templates": obj{
			"post": obj{"operationId": "createTemplate", "tags": []string{"templates"},
				"summary":     "Create a template: a render request with {{name}} placeholders and the typed variables that fill them.",
				"description": "Checked as a whole: every placeholder declared, every variable used, every default valid, and the spec with its defaults a valid render request. Problems are 400 SPEC_INVALID naming name, variables.NAME… or spec.PATH.",
				"requestBody": defBody,
				"responses": obj{"201": obj{"description": "Version 1.", "content": jsonContent(schemaRef("Template")),
					"headers": obj{"Location": obj{"schema": obj{"type": "string"}, "description": "/v1/templates/{id}"}}},
					"400": respRef("BadRequest"), "401": respRef("Unauthorized"), "413": respRef("TooLarge"),
					"415": respRef("UnsupportedMediaType"), "503": respRef("Unavailable")}},
			"get": obj{"operationId": "listTemplates", "tags": []string{"templates"}, "summary": "The latest version of each of the tenant's templates, newest first.",
				"parameters": []obj{
					{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": templates.MaxListLimit, "default": templates.DefaultListLimit}},
					{"name": "cursor", "in": "query", "schema": obj{"type": "string"}, "description": "next_cursor of the previous page."}},
				"responses": obj{"200": jsonResp("A page of templates.", "TemplateList"), "400": respRef("BadRequest"),
					"401": respRef("Unauthorized"), "503": respRef("Unavailable")}}},
		"/v1/templates/{id}": obj{
			"get": obj{"operationId": "getTemplate", "tags": []string{"templates"}, "summary": "A template: its latest version, or ?version=N.",
				"parameters": []obj{tplID, {"name": "version", "in": "query", "schema": obj{"type": "integer", "minimum": 1}}},
				"responses": obj{"200": tplResp, "400": respRef("BadRequest"), "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "503": respRef("Unavailable")}},
			"put": obj{"operationId": "updateTemplate", "tags": []string{"templates"},
				"summary":    "Make a new version of a template (checked as on creation). Renders that pinned an earlier version keep it; others take the latest.",
				"parameters": []obj{tplID}, "requestBody": defBody,
				"responses": obj{"200": jsonResp("The new version.", "Template"), "400": respRef("BadRequest"), "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "413": respRef("TooLarge"), "415": respRef("UnsupportedMediaType"), "503": respRef("Unavailable")}},
			"delete": obj{"operationId": "deleteTemplate", "tags": []string{"templates"}, "summary": "Delete a template and every version of it; jobs made from it keep their specs.",
				"parameters": []obj{tplID},
				"responses": obj{"204": obj{"description": "Deleted."}, "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "503": respRef("Unavailable")}}},
		"/v1/batches": obj{"post": obj{"operationId": "submitBatch", "tags": []string{"batches"},
			"summary":     "Render one template version with many rows of variables (at most 10000): JSON rows, or a CSV table.",
			"description": "Each row is checked as a template render is; invalid rows are listed in rejected and the others run, one job each. Counts once against the rate limit; its rows must all fit under the queue limit (503 with Retry-After otherwise). A CSV body names its template with ?template_id= and has a header row of variable names.",
			"parameters": []obj{
				{"name": "template_id", "in": "query", "schema": obj{"type": "string"}, "description": "CSV bodies: the template."},
				{"name": "template_version", "in": "query", "schema": obj{"type": "integer", "minimum": 1}, "description": "CSV bodies: pin a version (default the latest)."},
				{"name": "webhook_url", "in": "query", "schema": obj{"type": "string"}, "description": "CSV bodies: the batch's webhook."}},
			"requestBody": obj{"required": true, "content": obj{
				"application/json": obj{"schema": schemaRef("BatchRequest")},
				"text/csv":         obj{"schema": obj{"type": "string"}}}},
			"responses": obj{"202": obj{"description": "Accepted: the batch, with the rejected rows.", "content": jsonContent(schemaRef("Batch")),
				"headers": obj{"Location": obj{"schema": obj{"type": "string"}, "description": "/v1/batches/{id}"}}},
				"400": respRef("BadRequest"), "401": respRef("Unauthorized"), "404": respRef("NotFound"), "413": respRef("TooLarge"),
				"415": respRef("UnsupportedMediaType"), "429": respRef("RateLimited"), "503": respRef("Unavailable")}}},
		"/v1/batches/{id}": obj{
			"get": obj{"operationId": "getBatch", "tags": []string{"batches"}, "summary": "A batch: its counts by status and a page of its rows with their jobs.",
				"parameters": []obj{batID,
					{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": maxRowLimit, "default": defaultRowLimit}},
					{"name": "cursor", "in": "query", "schema": obj{"type": "string"}, "description": "next_cursor of the previous page."}},
				"responses": obj{"200": jsonResp("The batch and a page of rows.", "BatchPage"), "400": respRef("BadRequest"),
					"401": respRef("Unauthorized"), "404": respRef("NotFound"), "503": respRef("Unavailable")}},
			"delete": obj{"operationId": "cancelBatch", "tags": []string{"batches"}, "summary": "Cancel every row that has not ended; the batch ends canceled.",
				"parameters": []obj{batID},
				"responses": obj{"202": jsonResp("Canceling.", "Batch"), "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "409": respRef("Conflict"), "503": respRef("Unavailable")}}},
		"/v1/batches/{id}/events": obj{"get": obj{"operationId": "batchEvents", "tags": []string{"batches"},
			"summary":    "Server-Sent Events: `status` (the Batch) at once and as its counts change (at most every 250 ms), `row` (a BatchRow) when a row's job ends, a comment every 15 s; ends after the status of the batch's end.",
			"parameters": []obj{batID},
			"responses": obj{"200": obj{"description": "The event stream.", "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}},
				"401": respRef("Unauthorized"), "404": respRef("NotFound"), "503": respRef("Unavailable")}}},
	}
}

// templateBatchSchemas are the schemas of those routes.
func templateBatchSchemas() obj {
	date := obj{"type": "string", "format": "date-time"}
	anyValue := obj{"description": "A value of the variable's type: a string (text, color, asset), a number or a boolean."}
	fieldErrors := obj{"type": "array", "items": schemaRef("FieldError")}
	counts := obj{}
	for _, k := range []string{"queued", "running", "succeeded", "failed", "canceled", "rejected"} {
		counts[k] = integer("")
	}
	batch := obj{
		"id": str("bat_…"), "status": enum("canceling while a canceled batch's rows end", []string{batches.Running, "canceling", batches.Completed, batches.Canceled}),
		"template_id": str(""), "template_version": integer(""), "total": integer("Rows sent."), "accepted": integer("Rows that became jobs."),
		"rejected": obj{"type": "array", "items": obj{"type": "object", "required": []string{"row", "errors"},
			"properties": obj{"row": integer("Index of the row (0: the first row, after the header in CSV)."), "errors": fieldErrors}}},
		"counts":     obj{"type": "object", "properties": counts},
		"created_at": date, "finished_at": nullable(obj{"type": "string", "format": "date-time"}),
		"metadata": obj{"type": "object", "additionalProperties": obj{"type": "string"}}}
	page := maps.Clone(batch)
	page["rows"] = obj{"type": "array", "items": schemaRef("BatchRow")}
	page["next_cursor"] = nullable(str("Pass as ?cursor= for the next page of rows; null on the last page."))
	return obj{
		"Variable": closed([]string{"type"}, obj{"type": enum("", templates.Types), "default": anyValue,
			"max_length": obj{"type": "integer", "minimum": 1, "maximum": templates.MaxTextLength, "description": "text only: characters."},
			"min":        num("number only."), "max": num("number only."),
			"enum":  obj{"type": "array", "maxItems": templates.MaxEnum, "items": anyValue, "description": "text, number and color: the allowed values."},
			"label": str("For forms."), "description": str("For forms.")}),
		"TemplateDefinition": closed([]string{"name", "spec"}, obj{"name": obj{"type": "string", "maxLength": templates.MaxNameLength},
			"spec":      obj{"type": "object", "description": "A render request whose string values may hold {{name}} placeholders; a value that is exactly \"{{name}}\" takes the variable's typed value."},
			"variables": obj{"type": "object", "maxProperties": templates.MaxVariables, "additionalProperties": schemaRef("Variable")}}),
		"Template": obj{"type": "object", "required": []string{"id", "version", "name", "spec", "variables", "created_at", "updated_at"},
			"properties": obj{"id": str("tpl_…"), "version": integer("1, then one more for each PUT."), "name": str(""),
				"spec": obj{"type": "object"}, "variables": obj{"type": "object", "additionalProperties": schemaRef("Variable")},
				"created_at": date, "updated_at": obj{"type": "string", "format": "date-time", "description": "When this version was made."}}},
		"TemplateList": obj{"type": "object", "required": []string{"items", "next_cursor"},
			"properties": obj{"items": obj{"type": "array", "items": schemaRef("Template")},
				"next_cursor": nullable(str("Pass as ?cursor= for the next page; null on the last page."))}},
		"TemplateRenderRequest": closed([]string{"template_id"}, obj{"template_id": str("tpl_…"),
			"template_version": obj{"type": "integer", "minimum": 1, "description": "Pin a version; default the latest."},
			"variables":        obj{"type": "object", "additionalProperties": anyValue},
			"output":           schemaRef("Output"), "webhook_url": obj{"type": "string", "format": "uri"},
			"metadata": obj{"type": "object", "additionalProperties": obj{"type": "string"}}}),
		"BatchRequest": closed([]string{"template_id", "rows"}, obj{"template_id": str("tpl_…"),
			"template_version": obj{"type": "integer", "minimum": 1},
			"rows":             obj{"type": "array", "minItems": 1, "maxItems": batches.MaxRows, "items": obj{"type": "object", "additionalProperties": anyValue}},
			"output":           schemaRef("Output"), "webhook_url": obj{"type": "string", "format": "uri", "description": "Sent once, when the batch ends, with the Batch."},
			"metadata": obj{"type": "object", "additionalProperties": obj{"type": "string"}}}),
		"Batch":     obj{"type": "object", "properties": batch},
		"BatchPage": obj{"type": "object", "properties": page},
		"BatchRow": obj{"type": "object", "required": []string{"row", "job_id", "status"}, "properties": obj{
			"row": integer(""), "job_id": nullable(str("null for a rejected row.")),
			"status": enum("", append(append([]string{}, jobStatuses...), "rejected")),
			"error":  obj{"type": "object", "properties": obj{"code": str(""), "message": str("")}, "description": "A failed or canceled row's job error."},
			"errors": fieldErrors}},
	}
}
