package cli

import (
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
)

// memoryHeadroom is what the soft memory limit leaves besides the images and twice the heap live at start: request
// bodies (up to --max-body each), JSON, events, the runtime's own.
const memoryHeadroom = 256 << 20

// serveMemoryLimit is the soft memory limit serve gives the Go runtime: every analysis slot holding an image of
// --max-image-memory, plus twice the heap live once the index is loaded (512-d templates, about 2.6 KiB each; twice
// so it may grow), plus memoryHeadroom. Without a limit the heap grows to about twice what is live between
// collections: 12 PNG bombs just under 320 MiB on 4 slots took 2.67 GB.
func serveMemoryLimit(analyses int, imageMemory, live int64) int64 {
	return int64(analyses)*imageMemory + 2*live + memoryHeadroom
}

// setServeMemoryLimit sets serveMemoryLimit with debug.SetMemoryLimit, after a collection has measured the live
// heap, unless $GOMEMLIMIT (which the runtime has applied) says otherwise; it logs the limit either way and returns
// it. The limit is soft: past it the collector runs more often (at most half the CPU), nothing is refused.
func setServeMemoryLimit(log *slog.Logger, analyses int, imageMemory int64) int64 {
	if v := os.Getenv("GOMEMLIMIT"); v != "" {
		limit := debug.SetMemoryLimit(-1)
		log.Info("memory limit", "bytes", limit, "from", "GOMEMLIMIT="+v)
		return limit
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	limit := serveMemoryLimit(analyses, imageMemory, int64(ms.HeapAlloc))
	debug.SetMemoryLimit(limit)
	log.Info("memory limit", "bytes", limit, "from", "--max-analyses × --max-image-memory + 2 × live heap + 256 MiB",
		"live_heap", ms.HeapAlloc)
	return limit
}
