package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// obj is a JSON object of the OpenAPI document.
type obj = map[string]any

// openAPI serves the document built by New.
func (g *Gateway) openAPI(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", g.doc)
}

// OpenAPI returns the OpenAPI 3 document the gateway serves.
func (g *Gateway) OpenAPI() []byte { return slices.Clone(g.doc) }

func (g *Gateway) openAPIJSON() ([]byte, error) {
	return json.MarshalIndent(obj{
		"openapi": "3.0.3",
		"info": obj{"title": "stickerd", "version": "1",
			"description": "Cloud video sticker rendering. Errors are application/problem+json (RFC 9457) with a code from the error taxonomy."},
		"servers":  []obj{{"url": "/"}},
		"security": []obj{{"bearer": []string{}}},
		"paths":    merged(openAPIPaths(), templateBatchPaths()),
		"components": obj{
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer",
				"description": "An API key of a tenant. A loopback-only gateway without keys accepts requests without one."},
				"signedLink": obj{"type": "apiKey", "in": "query", "name": "sig",
					"description": "A job's output.signed_url: GET and HEAD of its output with expires and sig, no API key, until it expires. A link that does not check out answers 403 SIGNATURE_INVALID."}},
			"schemas":    merged(openAPISchemas(), templateBatchSchemas()),
			"responses":  openAPIResponses(),
			"parameters": openAPIParameters(),
		},
	}, "", "  ")
}

// merged is a with b's members added.
func merged(a, b obj) obj {
	for k, v := range b {
		a[k] = v
	}
	return a
}

// Helpers for the document's repeated shapes.
func schemaRef(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }
func respRef(name string) obj   { return obj{"$ref": "#/components/responses/" + name} }
func paramRef(name string) obj  { return obj{"$ref": "#/components/parameters/" + name} }
func jsonContent(schema obj) obj {
	return obj{"application/json": obj{"schema": schema}}
}
func jsonResp(desc, schema string) obj {
	return obj{"description": desc, "content": jsonContent(schemaRef(schema))}
}
func binary() obj { return obj{"type": "string", "format": "binary"} }

// public marks an operation that needs no API key.
func public(op obj) obj { op["security"] = []obj{}; return op }

func openAPIPaths() obj {
	jobResp := jsonResp("The job.", "Job")
	return obj{
		"/healthz": obj{"get": public(obj{"operationId": "healthz", "tags": []string{"ops"}, "summary": "The process is alive.",
			"responses": obj{"200": jsonResp("Alive.", "Health")}})},
		"/readyz": obj{"get": public(obj{"operationId": "readyz", "tags": []string{"ops"}, "summary": "Dependencies (the state store) are reachable.",
			"responses": obj{"200": jsonResp("Ready.", "Readiness"), "503": jsonResp("Not ready; see checks.", "Readiness")}})},
		"/metrics": obj{"get": public(obj{"operationId": "metrics", "tags": []string{"ops"}, "summary": "Prometheus metrics.",
			"responses": obj{"200": obj{"description": "Text exposition format.", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}}})},
		"/openapi.json": obj{"get": public(obj{"operationId": "openapi", "tags": []string{"ops"}, "summary": "This document.",
			"responses": obj{"200": obj{"description": "OpenAPI 3.0 document.", "content": jsonContent(obj{"type": "object"})}}})},
		"/v1/stickers": obj{"get": public(obj{"operationId": "listStickers", "tags": []string{"stickers"},
			"summary":   "The built-in sticker catalogue (no API key needed).",
			"responses": obj{"200": jsonResp("The catalogue, sorted by name.", "StickerList")}})},
		"/v1/stickers/{name}": obj{"get": public(obj{"operationId": "getSticker", "tags": []string{"stickers"},
			"summary":    "A built-in sticker's picture: PNG for stills, GIF for animations (no API key needed).",
			"parameters": []obj{{"name": "name", "in": "path", "required": true, "schema": obj{"type": "string"}}},
			"responses": obj{
				"200": obj{"description": "The picture.", "content": obj{"image/png": obj{"schema": binary()}, "image/gif": obj{"schema": binary()}}},
				"404": respRef("NotFound")}})},
		"/v1/assets": obj{"post": obj{"operationId": "uploadAsset", "tags": []string{"assets"},
			"summary":     "Upload a video, an image (still or animated) or a font.",
			"description": "Send the file as the multipart field `file`, or as the raw body with its Content-Type. The file is probed before it is stored. The same bytes uploaded again by the same tenant are stored once: 200 with the existing asset.",
			"requestBody": obj{"required": true, "content": obj{
				"multipart/form-data":      obj{"schema": obj{"type": "object", "required": []string{"file"}, "properties": obj{"file": binary()}}},
				"application/octet-stream": obj{"schema": binary()},
				"*/*":                      obj{"schema": binary()}}},
			"responses": obj{"201": obj{"description": "Stored.", "content": jsonContent(schemaRef("Asset")),
				"headers": obj{"Location": obj{"schema": obj{"type": "string"}, "description": "/v1/assets/{id}"}}},
				"200": obj{"description": "The tenant already uploaded these bytes: its existing asset.", "content": jsonContent(schemaRef("Asset")),
					"headers": obj{"Location": obj{"schema": obj{"type": "string"}, "description": "/v1/assets/{id}"}}},
				"400": respRef("BadRequest"), "401": respRef("Unauthorized"), "413": respRef("TooLarge"),
				"422": respRef("Unprocessable"), "429": respRef("RateLimited"), "503": respRef("Unavailable")}}},
		"/v1/assets/{id}": obj{"get": obj{"operationId": "getAsset", "tags": []string{"assets"}, "summary": "An uploaded asset.",
			"parameters": []obj{paramRef("AssetID")},
			"responses": obj{"200": jsonResp("The asset.", "Asset"), "401": respRef("Unauthorized"),
				"404": respRef("NotFound"), "503": respRef("Unavailable")}},
			"delete": obj{"operationId": "deleteAsset", "tags": []string{"assets"}, "summary": "Delete an uploaded asset: its record and its bytes. A render naming it afterwards is refused with ASSET_NOT_FOUND.",
				"parameters": []obj{paramRef("AssetID")},
				"responses": obj{"204": obj{"description": "Deleted."}, "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "409": respRef("Conflict"), "503": respRef("Unavailable")}}},
		"/v1/renders": obj{
			"post": obj{"operationId": "submitRender", "tags": []string{"renders"}, "summary": "Submit a render request.",
				"description": "Answers 202 with a new job; with an Idempotency-Key used before with the same body, 202 with that job as it is now (another body: 409); 200 with the finished job when an identical request was already rendered.",
				"parameters":  []obj{{"name": "Idempotency-Key", "in": "header", "required": false, "schema": obj{"type": "string", "maxLength": 255}}},
				"requestBody": obj{"required": true, "content": jsonContent(obj{"oneOf": []obj{schemaRef("RenderRequest"), schemaRef("TemplateRenderRequest")}})},
				"responses": obj{"200": jsonResp("An identical request was already rendered (result cache).", "Job"),
					"202": obj{"description": "Accepted.", "content": jsonContent(schemaRef("Job")),
						"headers": obj{"Location": obj{"schema": obj{"type": "string"}, "description": "/v1/renders/{id}"}}},
					"400": respRef("BadRequest"), "401": respRef("Unauthorized"), "409": respRef("Conflict"),
					"413": respRef("TooLarge"), "415": respRef("UnsupportedMediaType"), "422": respRef("Unprocessable"),
					"429": respRef("RateLimited"), "503": respRef("Unavailable")}},
			"get": obj{"operationId": "listRenders", "tags": []string{"renders"}, "summary": "The tenant's jobs, newest first.",
				"parameters": []obj{
					{"name": "status", "in": "query", "schema": obj{"type": "string", "enum": jobStatuses}},
					{"name": "limit", "in": "query", "schema": obj{"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
					{"name": "cursor", "in": "query", "schema": obj{"type": "string"}, "description": "next_cursor of the previous page."}},
				"responses": obj{"200": jsonResp("A page of jobs.", "JobList"), "400": respRef("BadRequest"),
					"401": respRef("Unauthorized"), "503": respRef("Unavailable")}}},
		"/v1/renders/{id}": obj{
			"get": obj{"operationId": "getRender", "tags": []string{"renders"}, "summary": "A job.",
				"parameters": []obj{paramRef("JobID")},
				"responses":  obj{"200": jobResp, "401": respRef("Unauthorized"), "404": respRef("NotFound"), "503": respRef("Unavailable")}},
			"delete": obj{"operationId": "cancelRender", "tags": []string{"renders"},
				"summary":    "Cancel a job: a queued one at once, a running one by stopping its ffmpeg.",
				"parameters": []obj{paramRef("JobID")},
				"responses": obj{"202": jsonResp("Canceled, or being stopped.", "Job"), "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "409": respRef("Conflict"), "503": respRef("Unavailable")}}},
		"/v1/renders/{id}/events": obj{"get": obj{"operationId": "renderEvents", "tags": []string{"renders"},
			"summary":    "Server-Sent Events: `status` (the Job) on every state change, `progress` ({\"progress\":0.42}) while running, a comment every 15 s; ends after the terminal status.",
			"parameters": []obj{paramRef("JobID")},
			"responses": obj{"200": obj{"description": "The event stream.", "content": obj{"text/event-stream": obj{"schema": obj{"type": "string"}}}},
				"401": respRef("Unauthorized"), "404": respRef("NotFound"), "503": respRef("Unavailable")}}},
		"/v1/renders/{id}/output": obj{"get": outputOp("renderOutput"), "head": outputOp("renderOutputHead"),
			"delete": obj{"operationId": "deleteRenderOutput", "tags": []string{"renders"},
				"summary":    "Delete a job's output file; the job record stays, and the output answers 410 from now on.",
				"parameters": []obj{paramRef("JobID")},
				"responses": obj{"204": obj{"description": "Deleted (or deleted already)."}, "401": respRef("Unauthorized"),
					"404": respRef("NotFound"), "409": respRef("Conflict"), "503": respRef("Unavailable")}}},
		"/v1/rtc/sessions": obj{"post": obj{"operationId": "createRTCSession", "tags": []string{"rtc"},
			"summary":     "Open a realtime session (WHIP-style): the body is an SDP offer.",
			"requestBody": obj{"required": true, "content": obj{"application/sdp": obj{"schema": obj{"type": "string"}}}},
			"responses": obj{"201": obj{"description": "The SDP answer.", "content": obj{"application/sdp": obj{"schema": obj{"type": "string"}}},
				"headers": obj{"Location": obj{"schema": obj{"type": "string"}, "description": "/v1/rtc/sessions/{id}"}}},
				"400": respRef("BadRequest"), "401": respRef("Unauthorized"), "503": respRef("Unavailable")}}},
		"/v1/rtc/sessions/{id}": obj{
			"patch": obj{"operationId": "trickleRTCSession", "tags": []string{"rtc"}, "summary": "Trickle ICE candidates.",
				"parameters":  []obj{{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}}},
				"requestBody": obj{"required": true, "content": obj{"application/trickle-ice-sdpfrag": obj{"schema": obj{"type": "string"}}}},
				"responses":   obj{"204": obj{"description": "Applied."}, "401": respRef("Unauthorized"), "404": respRef("NotFound")}},
			"delete": obj{"operationId": "endRTCSession", "tags": []string{"rtc"}, "summary": "End the session.",
				"parameters": []obj{{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string"}}},
				"responses":  obj{"200": obj{"description": "Ended."}, "401": respRef("Unauthorized"), "404": respRef("NotFound")}}},
	}
}

var jobStatuses = []string{"queued", "running", "succeeded", "failed", "canceled"}

func outputOp(id string) obj {
	file := obj{"schema": binary()}
	return obj{"operationId": id, "tags": []string{"renders"},
		"summary":     "The rendered file, with Range and If-Range support.",
		"description": "Authorised by an API key, or, without one, by the expires and sig of the job's output.signed_url (a request carrying either is judged by the signature alone).",
		"security":    []obj{{"bearer": []string{}}, {"signedLink": []string{}}},
		"parameters": []obj{paramRef("JobID"), {"name": "Range", "in": "header", "schema": obj{"type": "string"}, "example": "bytes=0-1023"},
			{"name": "expires", "in": "query", "schema": obj{"type": "integer"}, "description": "A signed link's expiry (Unix seconds)."},
			{"name": "sig", "in": "query", "schema": obj{"type": "string"}, "description": "A signed link's signature."}},
		"responses": obj{
			"200": obj{"description": "The whole file.", "content": obj{"video/mp4": file, "video/webm": file, "image/gif": file, "image/webp": file},
				"headers": obj{"Content-Disposition": obj{"schema": obj{"type": "string"}, "description": `attachment; filename="job_….mp4"`}}},
			"206": obj{"description": "The requested range.", "content": obj{"video/mp4": file, "video/webm": file, "image/gif": file, "image/webp": file},
				"headers": obj{"Content-Range": obj{"schema": obj{"type": "string"}}}},
			"401": respRef("Unauthorized"), "403": respRef("SignatureInvalid"), "404": respRef("NotFound"),
			"409": respRef("Conflict"), "410": respRef("Gone"), "416": obj{"description": "The range is outside the file."}, "503": respRef("Unavailable")}}
}

// OpenAPIMismatches compares the document with the routes of Engine: each
// route the document lacks, and each documented operation no route serves,
// one line each. skip leaves out routes that are not part of the API (a
// web UI) or operations mounted elsewhere.
func (g *Gateway) OpenAPIMismatches(skip func(method, path string) bool) ([]string, error) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(g.doc, &doc); err != nil {
		return nil, err
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	var out []string
	for _, r := range g.engine.Routes() {
		path := ginToOpenAPI(r.Path)
		if skip != nil && skip(r.Method, path) {
			continue
		}
		routed[r.Method+" "+path] = true
		if !documented[r.Method+" "+path] {
			out = append(out, fmt.Sprintf("route %s %s is not in the document", r.Method, path))
		}
	}
	for op := range documented {
		method, path, _ := strings.Cut(op, " ")
		if !routed[op] && (skip == nil || !skip(method, path)) {
			out = append(out, fmt.Sprintf("documented %s has no route", op))
		}
	}
	slices.Sort(out)
	return out, nil
}

// ginToOpenAPI turns /v1/renders/:id into /v1/renders/{id}.
func ginToOpenAPI(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, ":") || strings.HasPrefix(p, "*") {
			parts[i] = "{" + p[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
