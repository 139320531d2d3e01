package server_test

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/facegate/facegate/server"
)

// TestAttackLogAmplification replays the red-team finding that a key could make the server log far more than it
// may make it store: a 50 KB gallery name in the path was logged whole (50 KB a request; 86 GB a day at 20
// requests/s) and echoed whole in the 404's message. Both are cut now: the log line and the answer stay small.
func TestAttackLogAmplification(t *testing.T) {
	var log syncBuffer
	e := newEnv(t, server.Config{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	device := e.newKey("door")
	name := strings.Repeat("g", 50_000)
	before := len(log.String())
	const requests = 10
	for range requests {
		var ae apiErr
		if code := e.json(http.MethodGet, "/v1/galleries/"+name, device, nil, &ae); code != http.StatusNotFound || ae.Error.Code != "not_found" {
			t.Fatalf("GET a 50 KB gallery name: %d %+v", code, ae)
		}
		if len(ae.Error.Message) > 1100 {
			t.Fatalf("the answer's message is %d bytes: the client's 50 KB name is echoed whole", len(ae.Error.Message))
		}
	}
	if grew := len(log.String()) - before; grew > requests*6<<10 {
		t.Fatalf("%d requests with a 50 KB name wrote %d bytes to the log: the name is logged whole", requests, grew)
	}
}
