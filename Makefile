# facegate — see README.md. Everything the build needs is fetched by scripts/deps.sh from npm (pinned, checksummed).
GO      ?= go
BIN     := bin/facegate
DATA    ?= ../shared/datasets
ADDR    ?= :8080
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/facegate/facegate.Version=$(VERSION)
# JPEG is decoded with the system's libjpeg-turbo through cgo when its headers are present (Debian's
# libjpeg62-turbo-dev, which scripts/deps.sh installs when it can); without them facegate uses image/jpeg.
# Recursive (=) so the check runs after 'deps'.
TAGS     = $(shell test -f /usr/include/jpeglib.h && echo libjpeg)
GOFLAGS_TAGS = -tags '$(TAGS)'

.PHONY: all deps build run test test-race test-accuracy vet fmt-check bench fuzz eval-lfw eval-deepface eval-identify calibrate clean

all: build

deps:
	@scripts/deps.sh

build: deps
	$(GO) build $(GOFLAGS_TAGS) -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/facegate

# 'make run' builds and starts facegate on http://localhost:8080. Until the HTTP server lands (issue 3) it
# checks the installation and analyses a bundled group photo, so the command already proves the pipeline works.
run: build
	@$(BIN) version
	@if $(BIN) serve --help >/dev/null 2>&1; then \
		$(BIN) serve --addr $(ADDR); \
	else \
		echo; echo "facegate serve is not built yet (issue 3); analysing .deps/testimages/sample1.jpg instead:"; \
		mkdir -p out; \
		$(BIN) detect --draw out/sample1-annotated.jpg .deps/testimages/sample1.jpg && \
		echo "annotated image: out/sample1-annotated.jpg"; \
	fi

vet:
	$(GO) vet $(GOFLAGS_TAGS) ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# make test: static checks, every unit and golden test under the race detector (-short skips the slow accuracy
# runs), then the accuracy tests on ../shared/datasets without the race detector. Tests that need the shared
# datasets skip with a message when they are absent.
test: deps fmt-check vet
	$(GO) test $(GOFLAGS_TAGS) -race -short -count=1 ./...
	$(GO) test -count=1 -short ./internal/imgio   # the pure-Go JPEG path too
	$(GO) test $(GOFLAGS_TAGS) -count=1 -v -run 'Accuracy|Golden' ./engine

bench: build
	$(BIN) bench
	$(GO) test $(GOFLAGS_TAGS) -run '^$$' -bench . -benchtime 20x ./engine ./internal/imgio

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 60s ./internal/imgio
	$(GO) test -run '^$$' -fuzz FuzzParseLFWPairs -fuzztime 30s ./eval
	$(GO) test -run '^$$' -fuzz FuzzParsePairsCSV -fuzztime 30s ./eval

eval-lfw: build
	mkdir -p out
	$(BIN) eval verify --pairs $(DATA)/lfw/pairs.txt --images $(DATA)/lfw/images_deepfunneled --roc out/lfw-roc.png --out out/lfw.json

eval-deepface: build
	mkdir -p out
	$(BIN) eval verify --pairs $(DATA)/deepface_testset/pairs.csv --images $(DATA)/deepface_testset --roc out/deepface-roc.png --out out/deepface.json

eval-identify: build
	mkdir -p out
	$(BIN) eval identify --root $(DATA)/lfw/images_deepfunneled --gallery 1 --out out/lfw-identify.json

calibrate: build
	$(BIN) eval calibrate --root $(DATA)/lfw/images_deepfunneled --per-person 4

clean:
	rm -rf bin out
