package cli

import (
	"bytes"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// TestServeMemoryLimit: the soft limit serve sets covers every analysis slot's image, twice the live heap and the
// headroom, is applied to the runtime and logged; $GOMEMLIMIT wins over it.
func TestServeMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		analyses    int
		image, live int64
		want        int64
	}{
		{4, 320 << 20, 100 << 20, 4*320<<20 + 200<<20 + 256<<20}, // 2 cores, an index of ~20,000 templates
		{32, 320 << 20, 0, 32*320<<20 + 256<<20},
		{1, 64 << 20, 3 << 30, 64<<20 + 6<<30 + 256<<20}, // a million templates
	} {
		if got := serveMemoryLimit(c.analyses, c.image, c.live); got != c.want {
			t.Errorf("serveMemoryLimit(%d, %d, %d) = %d, want %d", c.analyses, c.image, c.live, got, c.want)
		}
	}
	t.Cleanup(func() { debug.SetMemoryLimit(math.MaxInt64) })
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	t.Setenv("GOMEMLIMIT", "")
	got := setServeMemoryLimit(log, 4, 320<<20)
	if got < 4*320<<20+256<<20 || debug.SetMemoryLimit(-1) != got || !strings.Contains(buf.String(), "msg=\"memory limit\" bytes=") {
		t.Errorf("limit %d, runtime's %d, log %q", got, debug.SetMemoryLimit(-1), buf.String())
	}
	buf.Reset()
	debug.SetMemoryLimit(3 << 30)
	t.Setenv("GOMEMLIMIT", "3GiB")
	if got := setServeMemoryLimit(log, 4, 320<<20); got != 3<<30 || !strings.Contains(buf.String(), `from="GOMEMLIMIT=3GiB"`) {
		t.Errorf("with GOMEMLIMIT=3GiB: limit %d, log %q", got, buf.String())
	}
}
