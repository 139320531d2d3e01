package server_test

import (
	"bytes"
	"image/jpeg"
	"net/http"
	"testing"
	"time"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
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

// TestAttackCrowdProfileAttributesByDeadline replays the review of issue 13: a device key sends a 3840x3840 JPEG
// packed with ~75,000 real faces of 14 px, profile crowd, every attribute (a deployment that enables age, gender
// and expression). Served whole, it runs 27-30 s on two cores (278 faces analysed, four attribute models each),
// far past the ~17 s the crowd profile's worst case was said to cost, so the request timeout is what bounds it:
// the answer comes within a fraction of a second of the timeout, and the key's slot is free after.
func TestAttackCrowdProfileAttributesByDeadline(t *testing.T) {
	const timeout = 2500 * time.Millisecond
	e := realEnv(t, server.Config{RequestTimeout: timeout, Inferences: []engine.Attribute{engine.AttrAge, engine.AttrGender, engine.AttrExpression}})
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testutil.PackedCrowd(t, testEngine(t), 3840, 14).ToStd(), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	device := e.newKey("door")
	start := time.Now()
	status := e.image("/v1/detect", device, b.Bytes(), map[string]string{"profile": "crowd", "attributes": "all"}, nil)
	took := time.Since(start)
	t.Logf("%d KiB crowd, profile crowd, all attributes: %d after %v", b.Len()>>10, status, took)
	if status != http.StatusOK && status != http.StatusServiceUnavailable {
		t.Fatalf("crowd with every attribute: status %d, want 503 timeout or 200", status)
	}
	if took > timeout+700*time.Millisecond {
		t.Errorf("crowd with every attribute answered %v after it was sent, %v past the request timeout", took, took-timeout)
	}
	waitFor(t, "the key's analysis slot to be free", func() bool { return e.metric("facegate_analyses_in_progress") == "0" })
}
