package engine

import (
	"testing"

	"github.com/facegate/facegate/internal/testutil/testenv"
)

func TestRFBPriorCount(t *testing.T) {
	tests := []struct{ w, h, want int }{
		// 40x30*3 + 20x15*2 + 10x8*2 + 5x4*3: the 4,420 boxes fr_detect outputs.
		{320, 240, 4420},
		// 80x60*3 + 40x30*2 + 20x15*2 + 10x8*3.
		{640, 480, 17640},
		{8, 8, 10},
		{9, 8, 3*2 + 2 + 2 + 3},
	}
	for _, tc := range tests {
		if got := rfbPriorCount(tc.w, tc.h); got != tc.want {
			t.Errorf("rfbPriorCount(%d, %d) = %d, want %d", tc.w, tc.h, got, tc.want)
		}
	}
	if err := checkDetector([]int64{1, 3, 240, 320}, []int64{1, 4420, 2}, []int64{1, 4420, 4}); err != nil {
		t.Errorf("the pack's detector shapes rejected: %v", err)
	}
	if err := checkDetector([]int64{1, 3, 240, 320}, []int64{1, 4420, 2}, []int64{1, 17640, 4}); err == nil {
		t.Error("mismatched box count accepted")
	}
	if err := checkDetector([]int64{1, 3, 480, 640}, []int64{1, 4420, 2}, []int64{1, 4420, 4}); err == nil {
		t.Error("wrong input size accepted")
	}
}

// TestDetectorOutputsAreDecodedBoxes pins the fact the engine relies on: fr_detect's "boxes" output is already
// decoded from its priors into corner-form boxes normalised to the input (the JS reference multiplies them by the
// input size directly).
func TestDetectorOutputsAreDecodedBoxes(t *testing.T) {
	paths := testenv.ModelPack(t)
	e, err := New(Config{RuntimePath: paths.Runtime, ModelsDir: paths.Models})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	in := make([]float32, 3*detW*detH)
	for i := range in {
		in[i] = float32((i*7919)%255)/128 - 1
	}
	out, err := e.det.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	scores, boxes := out[0], out[1]
	if e.det.Outputs[0].Name != "scores" {
		scores, boxes = out[1], out[0]
	}
	for i := 0; i < len(scores)/2; i++ {
		if s := scores[2*i] + scores[2*i+1]; s < 0.999 || s > 1.001 {
			t.Fatalf("prior %d: scores %v do not sum to 1 (not softmaxed)", i, scores[2*i:2*i+2])
		}
		b := boxes[4*i : 4*i+4]
		if b[2] <= b[0] || b[3] <= b[1] || b[0] < -1 || b[3] > 2 {
			t.Fatalf("prior %d: box %v is not a corner-form box near [0,1]", i, b)
		}
	}
}
