package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/testutil"
)

// TestAttackCrowdDeadline replays the red-team crowd: a 6000x6000 image packed with ~6,000 real 60 px faces,
// searched with min face 10. Every stage after the detector runs (suppression of ~40,000 tile finds, the
// confirmation looks, the faces' models) must stop with the request's deadline: Analyze returns within a model
// call or so of it wherever the deadline falls. Before, the pairwise suppression alone ran 7 s past any deadline.
func TestAttackCrowdDeadline(t *testing.T) {
	e := testEngine(t)
	img := testutil.PackedCrowd(t, e, 6000, 60)
	opt := engine.Options{MinFaceSize: 10, Embed: true}
	const margin = 300 * time.Millisecond
	for _, deadline := range []time.Duration{1500 * time.Millisecond, 3 * time.Second, 4500 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		faces, err := e.Analyze(ctx, img, opt)
		took := time.Since(start)
		cancel()
		t.Logf("deadline %v: %d faces, %v after %v", deadline, len(faces), err, took)
		if took > deadline+margin {
			t.Errorf("Analyze with a %v deadline returned after %v, over %v past it", deadline, took, took-deadline)
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Analyze with a %v deadline: %v, want context.DeadlineExceeded", deadline, err)
		}
	}
}
