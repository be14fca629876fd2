package gateway

import (
	"github.com/stickerd/stickerd/internal/errcode"
	"github.com/stickerd/stickerd/internal/problem"
	"github.com/stickerd/stickerd/render/spec"
)

func str(desc string) obj              { return obj{"type": "string", "description": desc} }
func num(desc string) obj              { return obj{"type": "number", "description": desc} }
func integer(desc string) obj          { return obj{"type": "integer", "description": desc} }
func enum(desc string, v []string) obj { return obj{"type": "string", "enum": v, "description": desc} }
func nullable(o obj) obj               { o["nullable"] = true; return o }
func closed(required []string, props obj) obj {
	o := obj{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func problemCodes() []string {
	var out []string
	for _, c := range errcode.All() {
		out = append(out, string(c))
	}
	for _, c := range errcode.HTTPOnly() {
		out = append(out, string(c))
	}
	return out
}

func openAPISchemas() obj {
	stringMap := obj{"type": "object", "additionalProperties": obj{"type": "string"}}
	return obj{
		"Problem": obj{"type": "object", "description": "RFC 9457 problem details.",
			"required": []string{"type", "title", "status", "detail", "code", "instance", "errors"},
			"properties": obj{"type": str("urn:stickerd:error:<code>"), "title": str("The HTTP status text."),
				"status": integer("The HTTP status."), "detail": str("What went wrong, for people."),
				"code":     enum("The error code: the taxonomy of the API, or NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, OUTPUT_GONE, SIGNATURE_INVALID for plain HTTP conditions.", problemCodes()),
				"instance": str("The request path."),
				"errors":   obj{"type": "array", "items": schemaRef("FieldError")}}},
		"FieldError": obj{"type": "object", "required": []string{"field", "message"},
			"properties": obj{"field": str("JSON path, e.g. stickers[1].keyframes[0].t"), "message": str("")}},
		"Health":    obj{"type": "object", "properties": obj{"status": str("ok")}},
		"Readiness": obj{"type": "object", "properties": obj{"ready": obj{"type": "boolean"}, "checks": stringMap}},
		"Asset": obj{"type": "object", "required": []string{"id", "kind", "bytes", "width", "height", "duration"},
			"properties": obj{"id": str("ast_…"), "kind": enum("", []string{"video", "image", "font"}),
				"content_type": str("The media type found in the file."), "bytes": integer(""),
				"width": integer("Pixels; 0 for fonts."), "height": integer("Pixels; 0 for fonts."),
				"duration": num("Seconds; 0 for stills and fonts."), "sha256": str("Hex SHA-256 of the bytes."),
				"created_at": obj{"type": "string", "format": "date-time"}}},
		"Job": obj{"type": "object",
			"required": []string{"id", "status", "progress", "attempts", "priority", "created_at", "started_at", "finished_at", "worker", "error", "output", "metadata"},
			"properties": obj{"id": str("job_…"), "status": enum("", jobStatuses),
				"progress": obj{"type": "number", "minimum": 0, "maximum": 1}, "attempts": integer(""),
				"priority":   enum("", []string{"high", "normal", "low"}),
				"created_at": obj{"type": "string", "format": "date-time"},
				"started_at": nullable(obj{"type": "string", "format": "date-time"}), "finished_at": nullable(obj{"type": "string", "format": "date-time"}),
				"worker": nullable(str("The worker that ran it.")),
				"error": nullable(obj{"type": "object", "required": []string{"code", "message"},
					"properties": obj{"code": enum("", problemCodes()[:len(errcode.All())]), "message": str("")}}),
				"output": nullable(obj{"type": "object", "properties": obj{"url": str("/v1/renders/{id}/output (with an API key); absent once the output was deleted."),
					"signed_url": str("The output without an API key until it expires (--signed-url-ttl from this answer): /v1/renders/{id}/output?expires=…&sig=…, absolute with --public-url. Absent unless succeeded and stored."),
					"bytes":      integer(""),
					"format":     enum("", outputFormats), "width": integer(""), "height": integer(""), "duration": num("Seconds.")}}),
				"metadata":          stringMap,
				"output_deleted_at": obj{"type": "string", "format": "date-time", "description": "When the output was deleted or expired; absent while it is stored."},
				"timings":           timingsSchema(),
				"plan":              planSchema(),
				"trace_id":          str("The job's trace in the tracing backend (32 hex digits); absent when the submission was not traced.")}},
		"JobList": obj{"type": "object", "required": []string{"items", "next_cursor"},
			"properties": obj{"items": obj{"type": "array", "items": schemaRef("Job")},
				"next_cursor": nullable(str("Pass as ?cursor= for the next page; null on the last page."))}},
		"StickerList": obj{"type": "object", "properties": obj{"items": obj{"type": "array", "items": schemaRef("Sticker")}}},
		"Sticker": obj{"type": "object", "properties": obj{"name": str("Use as a sticker's builtin."), "title": str(""),
			"animated": obj{"type": "boolean"}, "format": enum("", []string{"png", "gif"}), "width": integer(""), "height": integer(""),
			"frames": integer(""), "duration": num("Seconds; 0 for stills."), "tags": obj{"type": "array", "items": obj{"type": "string"}},
			"preview_url": str("/v1/stickers/{name}")}},
		"RenderRequest": closed([]string{"source", "stickers"}, obj{
			"source":      schemaRef("Source"),
			"stickers":    obj{"type": "array", "minItems": 1, "maxItems": spec.MaxStickers, "items": schemaRef("StickerLayer")},
			"output":      schemaRef("Output"),
			"priority":    enum("", []string{"high", "normal", "low"}),
			"webhook_url": obj{"type": "string", "format": "uri", "maxLength": spec.MaxURLLength},
			"metadata":    obj{"type": "object", "maxProperties": spec.MaxMetadataKeys, "additionalProperties": obj{"type": "string", "maxLength": spec.MaxMetadataValue}}}),
		"Source": closed(nil, obj{
			"asset_id": str("An uploaded video."), "url": str("An http(s) URL the service fetches; private addresses are refused."),
			"color": str("Blank canvas colour, #RRGGBB or #RRGGBBAA."), "width": integer("Canvas width."), "height": integer("Canvas height."),
			"duration": num("Canvas seconds."), "fps": num("Canvas frame rate.")}),
		"StickerLayer": closed([]string{"type"}, obj{
			"type":     enum("", []string{spec.TypeImage, spec.TypeText}),
			"asset_id": str("image: an uploaded image."), "url": str("image: an http(s) URL."), "builtin": str("image: a name from GET /v1/stickers."),
			"loop": obj{"type": "boolean", "description": "image: an animated sticker loops (default true)."},
			"text": obj{"type": "string", "maxLength": spec.MaxTextRunes}, "font": str("text: sans, serif, mono or a font's asset_id."),
			"size": num("text: height as a fraction of the output height."), "color": str("text: #RRGGBB or #RRGGBBAA."),
			"stroke_color": str(""), "stroke_width": num(""), "background": str(""),
			"start": num("Seconds (default 0)."), "end": num("Seconds (default: the end of the source)."),
			"x": num("Centre, fraction of the width (default 0.5)."), "y": num("Centre, fraction of the height (default 0.5)."),
			"width": num("Fraction of the output width."), "rotation": num("Degrees clockwise."), "opacity": obj{"type": "number", "minimum": 0, "maximum": 1},
			"keyframes": obj{"type": "array", "maxItems": spec.MaxKeyframes, "items": schemaRef("Keyframe")},
			"animation": enum("A preset that expands to keyframes.", spec.Animations)}),
		"Keyframe": closed([]string{"t"}, obj{"t": num("Seconds from the sticker's start."), "x": num(""), "y": num(""),
			"width": num(""), "rotation": num(""), "opacity": num(""), "easing": enum("", spec.Easings)}),
		"Output": closed(nil, obj{"format": enum("", outputFormats), "width": integer(""), "height": integer(""),
			"fps": obj{"type": "number", "maximum": spec.MaxFPS}, "max_bytes": obj{"type": "integer", "minimum": spec.MinMaxBytes},
			"quality": enum("", []string{"draft", "standard", "high"}), "audio": obj{"type": "boolean"},
			"render_mode": enum("auto (the default): re-encode only what the stickers touch where that can be exact, and split long renders across workers; full: re-encode every frame in one pass.", spec.RenderModes),
			"time":        obj{"type": "number", "minimum": 0, "description": "png and jpg only: the moment (seconds, default 0) whose frame the snapshot shows."}}),
	}
}

var outputFormats = []string{spec.FormatMP4, spec.FormatWebM, spec.FormatGIF, spec.FormatWebP, spec.FormatPNG, spec.FormatJPG}

func openAPIResponses() obj {
	problem := func(desc string, retry bool) obj {
		o := obj{"description": desc, "content": obj{problem.ContentType: obj{"schema": schemaRef("Problem")}}}
		if retry {
			o["headers"] = obj{"Retry-After": obj{"schema": obj{"type": "integer"}, "description": "Seconds to wait."}}
		}
		return o
	}
	return obj{
		"BadRequest":           problem("SPEC_INVALID: the request is invalid; errors name each field (JSON path), malformed JSON gives the byte offset, a URL resolving to a private address names its field.", false),
		"Unauthorized":         problem("UNAUTHORIZED: no valid API key.", false),
		"NotFound":             problem("NOT_FOUND (no such job, route or file) or ASSET_NOT_FOUND; another tenant's resources are not found either.", false),
		"Conflict":             problem("CONFLICT: an Idempotency-Key reused with another body, a cancel of a finished job, or an output that is not ready.", false),
		"SignatureInvalid":     problem("SIGNATURE_INVALID: a signed link whose signature does not match (tampered, another job's, an old signing key) or that has expired.", false),
		"Gone":                 problem("OUTPUT_GONE: the job's output was deleted (DELETE /v1/renders/{id}/output) or expired (--output-ttl); the job record stays.", false),
		"TooLarge":             problem("ASSET_TOO_LARGE (upload) or SPEC_INVALID (render request body) over the limit.", false),
		"UnsupportedMediaType": problem("SPEC_INVALID: a render request must be application/json.", false),
		"Unprocessable":        problem("Well-formed but not renderable: ASSET_NOT_FOUND or ASSET_UNSUPPORTED for an asset the request names, SOURCE_UNREADABLE, ASSET_UNSUPPORTED for an upload.", false),
		"RateLimited":          problem("RATE_LIMITED: the tenant's rate is exceeded.", true),
		"Unavailable":          problem("QUEUE_UNAVAILABLE (the queue is over its depth limit) or STATE_STORE_UNAVAILABLE; retry after Retry-After.", true),
	}
}

func openAPIParameters() obj {
	return obj{
		"JobID":   obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string", "pattern": "^job_"}},
		"AssetID": obj{"name": "id", "in": "path", "required": true, "schema": obj{"type": "string", "pattern": "^ast_"}},
	}
}

// planSchema is a job's plan: how its render was cut.
func planSchema() obj {
	return obj{"type": "object", "required": []string{"mode", "segments", "encoded_seconds", "copied_seconds", "workers"},
		"description": "How the render was (or, split across workers, is being) carried out; absent until a worker planned it.",
		"properties": obj{"mode": enum("full: every frame encoded in one pass; smart: only the GOPs the stickers touch encoded, the rest copied from the source; split: parts rendered by several workers at once, then joined.", []string{"full", "smart", "split"}),
			"segments":        integer("Encoded parts."),
			"encoded_seconds": num("Seconds of video encoded."), "copied_seconds": num("Seconds of the source copied untouched."),
			"workers": integer("Parts that could run at once."),
			"reason":  str("Why the render was not smarter (a full render's fallback), when it was not."),
			"chain": enum("Where a whole render's frames were decoded and composited: on the CPU, or on a GPU chain whose start-up trial passed (docs/gpu.md); absent for smart and split renders, whose parts are composited on the CPU.",
				[]string{"cpu", "gpu-composite", "gpu-composite+nvenc"}),
			"chain_reason": str("Why the render took that chain.")}}
}
