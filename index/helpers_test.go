package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randUnit(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var s float64
	for i := range v {
		x := rng.NormFloat64()
		v[i] = float32(x)
		s += x * x
	}
	inv := 1 / math.Sqrt(s)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

// noisy returns a unit vector equal to v plus Gaussian noise of total norm about sigma.
func noisy(rng *rand.Rand, v []float32, sigma float64) []float32 {
	out := make([]float32, len(v))
	per := sigma / math.Sqrt(float64(len(v)))
	var s float64
	for i, x := range v {
		y := float64(x) + rng.NormFloat64()*per
		out[i] = float32(y)
		s += y * y
	}
	inv := 1 / math.Sqrt(s)
	for i := range out {
		out[i] = float32(float64(out[i]) * inv)
	}
	return out
}

// checkInvariants verifies the gallery's internal bookkeeping.
func checkInvariants(t *testing.T, ix *Index) {
	t.Helper()
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	total := 0
	for name, g := range ix.galleries {
		if g.name != name {
			t.Fatalf("gallery %q named %q", name, g.name)
		}
		if g.n == 0 {
			t.Fatalf("empty gallery %q kept", name)
		}
		total += g.n
		if len(g.scale) != g.n || len(g.subj) != g.n || len(g.face) != g.n || len(g.faceSlot) != g.n {
			t.Fatalf("gallery %q: n=%d, scale %d subj %d face %d faceSlot %d", name, g.n, len(g.scale), len(g.subj), len(g.face), len(g.faceSlot))
		}
		if need := (g.n + segSize - 1) >> segShift; len(g.codes) < need || len(g.codes) > need+1 || len(g.vecs) != len(g.codes) {
			t.Fatalf("gallery %q: %d segments for %d rows", name, len(g.codes), g.n)
		}
		if len(g.subjName) != len(g.subjSlots) || len(g.subjIdx) != len(g.subjName) {
			t.Fatalf("gallery %q: subject tables disagree", name)
		}
		seen := 0
		for s, slots := range g.subjSlots {
			if len(slots) == 0 {
				t.Fatalf("gallery %q: subject %q without slots", name, g.subjName[s])
			}
			if g.subjIdx[g.subjName[s]] != int32(s) {
				t.Fatalf("gallery %q: subjIdx wrong for %q", name, g.subjName[s])
			}
			for _, slot := range slots {
				if g.subj[slot] != int32(s) {
					t.Fatalf("gallery %q: slot %d subject %d, listed under %d", name, slot, g.subj[slot], s)
				}
				seen++
			}
		}
		if seen != g.n {
			t.Fatalf("gallery %q: subjects list %d slots, n=%d", name, seen, g.n)
		}
		for i, f := range g.face {
			if g.faceSlot[f] != int32(i) || ix.faces[f] != g {
				t.Fatalf("gallery %q: face %q maps wrong", name, f)
			}
			// int8 row consistent with the float row
			codes := make([]int8, ix.stride)
			sc := quantize(g.row(ix.dim, int32(i)), codes)
			off := (i & segMask) * ix.stride
			if sc != g.scale[i] || !slices.Equal(codes, g.codes[i>>segShift][off:off+ix.stride]) {
				t.Fatalf("gallery %q slot %d: int8 row out of step with float row", name, i)
			}
		}
	}
	if total != len(ix.faces) {
		t.Fatalf("faces map has %d entries, galleries hold %d", len(ix.faces), total)
	}
}

func subjectsOf(hits []Hit) []string {
	s := make([]string, len(hits))
	for i, h := range hits {
		s[i] = h.Subject
	}
	return s
}

func hitsString(hits []Hit) string {
	s := ""
	for _, h := range hits {
		s += fmt.Sprintf("[%s %s %.6f] ", h.Subject, h.Face, h.Score)
	}
	return s
}

// bothModes runs f with Search using its shortcut for small galleries and with the int8 stage forced.
func bothModes(t *testing.T, f func(t *testing.T)) {
	t.Run("auto", f)
	t.Run("approx", func(t *testing.T) {
		forceApprox = true
		defer func() { forceApprox = false }()
		f(t)
	})
}
