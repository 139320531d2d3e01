package audit

import (
	"strings"
	"testing"
	"time"
)

// TestVerifyCheckpointSignedOverCut: a log cut to 20 of its 50 entries, with checkpoints at 45 and, signed
// later, at the cut head 20 (a server restarted on the cut log): it fails as truncated, and the problem names
// the later checkpoint, which does not make the log whole.
func TestVerifyCheckpointSignedOverCut(t *testing.T) {
	log := genLog(50)
	cps := sign(testKey, log, 15, 45)
	cps = append(cps, SignCheckpoint(testKey, &log[19], log[49].Time.Add(time.Hour)))
	rep, err := Verify(FromSlice(log[:20]), cps, testPub)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems) != 1 || rep.Problems[0].Kind != KindTruncated ||
		!strings.Contains(rep.Problems[0].Message, "the checkpoint at entry 20 was signed later") {
		t.Fatalf("the log cut and signed over:\n%s", rep)
	}
	// Without the later checkpoint the problem says only what is missing.
	rep, err = Verify(FromSlice(log[:20]), cps[:2], testPub)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Problems) != 1 || strings.Contains(rep.Problems[0].Message, "signed later") {
		t.Fatalf("the log cut:\n%s", rep)
	}
}
