package server_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/server"
)

// TestAttackStreamMatchUnaudited extends issue 12 finding 5 (identifications served without an audit entry) to
// the streams: a stream's match is an identification of a passer-by, so it is delivered (SSE, replay, webhook)
// only once its audit entry is written. With the audit insert of stream matches refused (a trigger), the real
// clip on a watchlist delivers no match event and the metric counts the dropped ones; once the audit works
// again, the same clip's matches are delivered, each with its entry.
func TestAttackStreamMatchUnaudited(t *testing.T) {
	needFFmpeg(t)
	e := realEnv(t, server.Config{StreamDirs: []string{filepath.Dir(testutil.Shared(t, clipPath))}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	watchPerformer(t, ctx, c)
	raw := rawDB(t, e.dir)
	if _, err := raw.Exec(`CREATE TRIGGER stream_audit_broken BEFORE INSERT ON audit_log WHEN NEW.action = 'stream.match'
		BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END`); err != nil {
		t.Fatal(err)
	}
	if got := runClip(t, ctx, c, "unaudited", "wanted"); len(got) != 0 {
		t.Fatalf("%d match events delivered without their audit entries", len(got))
	}
	if n := e.metricSum("facegate_stream_matches_unaudited_total"); n == 0 {
		t.Fatal("facegate_stream_matches_unaudited_total is 0: the dropped matches are not counted")
	}
	if _, err := raw.Exec(`DROP TRIGGER stream_audit_broken`); err != nil {
		t.Fatal(err)
	}
	delivered := runClip(t, ctx, c, "audited", "wanted")
	if len(delivered) == 0 {
		t.Fatal("no match on the clip once the audit works: the test above proved nothing")
	}
	audited := map[string]bool{}
	for _, en := range auditEntries(t, e) {
		if en.Action == "stream.match" {
			audited[en.Details["event"]] = true
		}
	}
	for _, ev := range delivered {
		if !audited[ev.ID] {
			t.Errorf("match event %s delivered without its audit entry", ev.ID)
		}
	}
}

// metricSum is the sum of a metric's samples over all its labels.
func (e *env) metricSum(name string) float64 {
	e.t.Helper()
	sum := 0.0
	for _, line := range strings.Split(e.metricsText(), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "{")) {
			f := strings.Fields(rest[strings.LastIndex(rest, "}")+1:])
			if len(f) > 0 {
				v, _ := strconv.ParseFloat(f[0], 64)
				sum += v
			}
		}
	}
	return sum
}
