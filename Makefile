# facegate — see README.md. Everything the build needs is fetched by scripts/deps.sh from npm (pinned, checksummed).
SHELL   := /bin/bash
GO      ?= go
BIN     := bin/facegate
DATA    ?= ../shared/datasets
ADDR    ?= :8080
STORE   ?= data
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/facegate/facegate.Version=$(VERSION)
# JPEG is decoded with the system's libjpeg-turbo through cgo when its headers are present (Debian's
# libjpeg62-turbo-dev, which scripts/deps.sh installs when it can); without them facegate uses image/jpeg.
# Recursive (=) so the check runs after 'deps'.
TAGS     = $(shell test -f /usr/include/jpeglib.h && echo libjpeg)
GOFLAGS_TAGS = -tags '$(TAGS)'

.PHONY: all deps build run test staticcheck console-screenshots vet fmt-check bench fuzz loadtest videobench eval-lfw eval-deepface eval-detect eval-identify eval-identify-server eval-suppression calibrate clean

all: build

deps:
	@scripts/deps.sh

build: deps
	$(GO) build $(GOFLAGS_TAGS) -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/facegate

# 'make run' builds and starts the server on http://localhost:8080 with the embedded store in $(STORE). On the
# first start it prints the admin API key once (or takes $FACEGATE_ADMIN_KEY).
run: build
	@$(BIN) version
	$(BIN) serve --addr $(ADDR) --data $(STORE)

vet:
	$(GO) vet $(GOFLAGS_TAGS) ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# make test: static checks (gofmt, vet, staticcheck), then every test exactly once: all but the slow ones under the
# race detector; the pure-Go JPEG path of internal/imgio; the slow ones without the race detector (the accuracy
# runs on ../shared/datasets, the crowd profile's targets on a synthetic crowd, the crash and process tests, the
# exact-search comparison, the web console's browser test in headless Chromium, docs/console.md; the decoders'
# peak-memory measurement, which the race detector's own allocations would distort). Every test matching SLOW must
# be in a SLOWPKGS package (internal/tools/testsummary's TestSlowTestsRun checks). A test that needs the model pack, the shared datasets, ffmpeg,
# chromium or node skips when it is missing, saying which, and fails instead under CI=true (.ci/run).
# internal/tools/testsummary prints the failures, then "N passed, N failed, N skipped" and each skip's reason.
# The opt-in measurements (OPTIN) have their own targets and are not run.
SLOW     = ^(TestAccuracy.*|TestGoldenGroupPhotos|TestCrashDurability|TestGracefulShutdown|TestSearchMatchesExact|TestConsoleE2E|TestFootprintMeasured|TestJPEGWorstAcceptedScans|TestCrowdProfileTargets)$$
SLOWPKGS = ./engine ./server ./store/sqlite ./index ./console ./internal/imgio ./internal/cli
OPTIN    = ^(TestLoad|TestRealtime1080p|TestLFWProtection|TestSuppressionLFW|TestCrowdSmallFacesMeasure|TestLoopedClipCrowdProfileMeasure)$$
test: deps fmt-check vet staticcheck
	@set -o pipefail; { rc=0; \
	$(GO) test -json $(GOFLAGS_TAGS) -race -count=1 -skip '$(SLOW)|$(OPTIN)' ./... || rc=1; \
	$(GO) test -json -count=1 ./internal/imgio || rc=1; \
	$(GO) test -json $(GOFLAGS_TAGS) -count=1 -run '$(SLOW)' $(SLOWPKGS) || rc=1; \
	exit $$rc; } 2>&1 | $(GO) run ./internal/tools/testsummary -log '$(SLOW)'

# staticcheck, pinned; 'go run' fetches it from the Go module proxy once and keeps it out of go.mod.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck:
	$(GO) run $(STATICCHECK) $(GOFLAGS_TAGS) ./...

# The browser test again, writing its screenshots to docs/console (make test writes them to out/console-e2e).
console-screenshots: deps
	FACEGATE_CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test $(GOFLAGS_TAGS) -count=1 -v -run '^TestConsoleE2E$$' ./console

bench: build
	$(BIN) bench
	$(GO) test $(GOFLAGS_TAGS) -run '^$$' -bench . -benchtime 20x ./engine ./internal/imgio

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./internal/imgio
	$(GO) test -run '^$$' -fuzz FuzzParseLFWPairs -fuzztime 30s ./eval
	$(GO) test -run '^$$' -fuzz FuzzParsePairsCSV -fuzztime 30s ./eval
	$(GO) test -run '^$$' -fuzz FuzzWIDERLabels -fuzztime 30s ./eval
	$(GO) test -run '^$$' -fuzz FuzzReadInput -fuzztime 60s ./server
	$(GO) test -run '^$$' -fuzz FuzzReadFrame -fuzztime 30s ./video/ffmpeg
	$(GO) test -run '^$$' -fuzz FuzzParseFilter -fuzztime 20s ./events
	$(GO) test $(GOFLAGS_TAGS) -run '^$$' -fuzz FuzzHeaders -fuzztime 30s ./internal/imgio
	$(GO) test -run '^$$' -fuzz FuzzReadCheckpoints -fuzztime 20s ./audit
	$(GO) test -run '^$$' -fuzz FuzzMaskSource -fuzztime 20s .
	$(GO) test -run '^$$' -fuzz FuzzJSONDepth -fuzztime 20s ./server

# The bounded load test of docs/performance.md: 16 clients searching a 10,000-subject gallery over loopback.
loadtest: deps
	mkdir -p out
	FACEGATE_LOAD=1 FACEGATE_LOAD_OUT=$(CURDIR)/out/loadtest.json $(GO) test $(GOFLAGS_TAGS) -count=1 -v -timeout 30m -run '^TestLoad$$' ./server

# The real-time video benchmark of docs/video.md: one 1080p stream analysed at 5 fps for a minute.
videobench: deps
	mkdir -p out
	FACEGATE_VIDEOBENCH=1 FACEGATE_VIDEOBENCH_OUT=$(CURDIR)/out/videobench.json $(GO) test $(GOFLAGS_TAGS) -count=1 -v -timeout 10m -run '^TestRealtime1080p$$' ./video

eval-lfw: build
	mkdir -p out
	$(BIN) eval verify --pairs $(DATA)/lfw/pairs.txt --images $(DATA)/lfw/images_deepfunneled --roc out/lfw-roc.png --out out/lfw.json

eval-deepface: build
	mkdir -p out
	$(BIN) eval verify --pairs $(DATA)/deepface_testset/pairs.csv --images $(DATA)/deepface_testset --roc out/deepface-roc.png --out out/deepface.json

# The detection benchmark of docs/accuracy.md: the dlib photos, then 50 synthetic crowd images (seed 1).
eval-detect: build
	mkdir -p out
	$(BIN) eval detect --labels $(DATA)/dlib_examples/detection/boxes.csv --workers 1 --plot out/dlib-pr.png --out out/dlib-detect.json
	$(BIN) eval synth-crowd --out out/crowd50 --images 50 --seed 1 --lfw $(DATA)/lfw/images_deepfunneled --backgrounds $(DATA)/dlib_examples/detection
	$(BIN) eval detect --labels out/crowd50/labels.csv --workers 1 --plot out/crowd50-pr.png --out out/crowd50-detect.json
	$(BIN) eval detect --labels $(DATA)/dlib_examples/detection/boxes.csv --workers 1 --profile crowd --out out/dlib-detect-crowd.json
	$(BIN) eval detect --labels out/crowd50/labels.csv --workers 1 --profile crowd --plot out/crowd50-crowd-pr.png --out out/crowd50-detect-crowd.json

eval-identify: build
	mkdir -p out
	$(BIN) eval identify --root $(DATA)/lfw/images_deepfunneled --gallery 1 --out out/lfw-identify.json

# The same 1:N evaluation through a server: a throwaway server on a temporary store, enrolment and search over HTTP.
eval-identify-server: build
	mkdir -p out
	@dir=$$(mktemp -d); key=fg_eval_$$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n'); \
	FACEGATE_ADMIN_KEY=$$key $(BIN) serve --addr 127.0.0.1:18089 --data $$dir --rate 0 >$$dir/serve.log 2>&1 & pid=$$!; \
	for i in $$(seq 100); do grep -q "serving on" $$dir/serve.log && break; sleep 0.2; done; \
	$(BIN) eval identify --server http://127.0.0.1:18089 --key $$key --workers 4 --root $(DATA)/lfw/images_deepfunneled --gallery 1 --out out/lfw-identify-server.json; \
	rc=$$?; kill $$pid; wait $$pid; rm -rf $$dir; exit $$rc

# The measurement behind the rejection margin (docs/suppression.md): LFW photos embedded once (cached in out/),
# the old and the scoped rejection rule counted over false and true alerts; writes out/suppression.json.
eval-suppression: deps
	mkdir -p out
	FACEGATE_SUPPRESSION_EVAL=1 FACEGATE_SUPPRESSION_OUT=$(CURDIR)/out/suppression.json $(GO) test $(GOFLAGS_TAGS) -count=1 -v -timeout 30m -run '^TestSuppressionLFW$$' ./recognize

calibrate: build
	$(BIN) eval calibrate --root $(DATA)/lfw/images_deepfunneled --per-person 4

clean:
	rm -rf bin out
