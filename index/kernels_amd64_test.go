//go:build amd64

package index

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The dispatch tests above compare whatever kernel the CPU selected; these call the assembly directly
// (when the CPU supports it) so a silent fallback cannot hide an assembly bug.
func TestAsmKernelsDirect(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range kernelLengths {
		for name, p := range i8Patterns(rng, n) {
			if got, want := dotI8Asm(p[0], p[1]), dotI8Go(p[0], p[1]); got != want {
				t.Errorf("dotI8Asm n=%d %s: %d, want %d", n, name, got, want)
			}
		}
	}
	const dim, count = 512, 50
	for name, p := range i8Patterns(rng, dim*count) {
		q := make([]int16, dim)
		for i := range q {
			q[i] = int16(p[0][i])
		}
		got, want := make([]int32, count), make([]int32, count)
		dotsI8Asm(q, p[1], dim, count, got)
		dotsI8Go(q, p[1], dim, count, want)
		for r := range got {
			if got[r] != want[r] {
				t.Errorf("dotsI8Asm %s row %d: %d, want %d", name, r, got[r], want[r])
			}
		}
	}
	if !hasFMA {
		return
	}
	for _, n := range kernelLengths {
		a, b := make([]float32, n), make([]float32, n)
		var abs float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			abs += math.Abs(float64(a[i] * b[i]))
		}
		if got, want := dotF32Asm(a, b), dotF32Go(a, b); math.Abs(float64(got-want)) > 1e-5*abs {
			t.Errorf("dotF32Asm n=%d: %g, want %g", n, got, want)
		}
	}
}
