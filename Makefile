# The project's vocabulary: run, test, bench, proto, lint.
GO       ?= go
# go test's own timeout for the whole suite; `make test` stays well under it.
TEST_TIMEOUT ?= 30m
# How long `make fuzz` runs each fuzz target (`make fuzz FUZZTIME=2s` checks each one starts).
FUZZTIME ?= 60s

.PHONY: run test test-short bench fuzz proto lint deps build

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

# Starts stickerd dev: the REST API and the web UI on http://127.0.0.1:8080,
# with embedded etcd and Kafka and one worker; data under ./data.
run: deps
	$(GO) run ./cmd/stickerd dev $(ARGS)

# lint first: gofmt, go vet and a tidy go.mod, then the whole suite.
test: deps lint
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test-short:
	$(GO) test -short ./...

bench: deps
	$(GO) run ./cmd/renderbench
	$(GO) run ./cmd/planbench
	$(GO) run ./cmd/pipelinebench
	$(GO) run ./cmd/batchbench
	$(GO) run ./cmd/edgebench
	$(GO) run ./cmd/tracebench

# Short fuzzing runs over the parser, the compiler, the decoders, output
# measurement and upload identification (hostile containers).
fuzz:
	$(GO) test ./render/ -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	$(GO) test ./render/spec -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	$(GO) test ./render/text -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZTIME)
	$(GO) test ./render/text -run '^$$' -fuzz '^FuzzEmojiFont$$' -fuzztime $(FUZZTIME)
	$(GO) test ./render/animwebp -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME)
	$(GO) test ./render/media -run '^$$' -fuzz '^FuzzMeasure$$' -fuzztime $(FUZZTIME)
	$(GO) test ./services/assets -run '^$$' -fuzz '^FuzzIdentify$$' -fuzztime $(FUZZTIME)

proto:
	@bash scripts/proto.sh

# gofmt, go vet, and go.mod/go.sum as `go mod tidy` would leave them.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
