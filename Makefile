# The project's vocabulary: run, test, bench, proto, lint.
GO       ?= go
# go test's own timeout for the whole suite; `make test` stays well under it.
TEST_TIMEOUT ?= 30m

.PHONY: run test test-short bench fuzz proto lint deps build

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -o bin/ ./cmd/...

# Starts stickerd dev: the REST API and the web UI on http://127.0.0.1:8080,
# with embedded etcd and Kafka and one worker; data under ./data.
run: deps
	$(GO) run ./cmd/stickerd dev

test: deps
	$(GO) vet ./...
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test-short:
	$(GO) test -short ./...

bench: deps
	$(GO) run ./cmd/renderbench
	$(GO) run ./cmd/pipelinebench
	$(GO) run ./cmd/edgebench

# Short fuzzing runs over the parser, the compiler, the decoders, output
# measurement and upload identification (hostile containers).
fuzz:
	$(GO) test ./render/ -run '^$$' -fuzz FuzzCompile -fuzztime 60s
	$(GO) test ./render/spec -run '^$$' -fuzz FuzzParse -fuzztime 60s
	$(GO) test ./render/text -run '^$$' -fuzz FuzzRender -fuzztime 60s
	$(GO) test ./render/text -run '^$$' -fuzz FuzzEmojiFont -fuzztime 60s
	$(GO) test ./render/animwebp -run '^$$' -fuzz FuzzDecode -fuzztime 60s
	$(GO) test ./render/media -run '^$$' -fuzz FuzzMeasure -fuzztime 60s
	$(GO) test ./services/assets -run '^$$' -fuzz FuzzIdentify -fuzztime 60s

proto:
	@bash scripts/proto.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
