package server_test

import (
	"bytes"
	"image/jpeg"
	"net/http"
	"testing"
	"time"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/server"
)

// TestAttackCrowdAnsweredByDeadline replays the red-team request: a 6000x6000 JPEG packed with ~6,000 real
// 60 px faces, POST /v1/detect with min_face 10. Detection used to run 5-7 s past any request timeout (and past
// the write deadline under load, so the client got nothing); now the answer, 503 timeout unless the machine
// finishes in time, comes within a fraction of a second of the request timeout.
func TestAttackCrowdAnsweredByDeadline(t *testing.T) {
	const timeout = 2500 * time.Millisecond
	e := realEnv(t, server.Config{RequestTimeout: timeout})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testutil.PackedCrowd(t, testEngine(t), 6000, 60).ToStd(), &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	status, code, ok := e.detectCall(t.Context(), e.admin, b.Bytes(), 10)
	took := time.Since(start)
	t.Logf("%d KiB crowd: %d %s after %v", b.Len()>>10, status, code, took)
	if !ok || (status != http.StatusOK && (status != http.StatusServiceUnavailable || code != api.CodeTimeout)) {
		t.Fatalf("crowd: status %d code %q (answered: %v), want 503 timeout or 200", status, code, ok)
	}
	if took > timeout+700*time.Millisecond {
		t.Errorf("crowd answered %v after it was sent, %v past the request timeout", took, took-timeout)
	}
}
