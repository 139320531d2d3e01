package index

import (
	"math"
	"math/rand/v2"
	"testing"
)

// int8 patterns exercising the extremes of the int8 kernels (overflow / saturation traps).
func i8Patterns(rng *rand.Rand, n int) map[string][2][]int8 {
	fill := func(f func(i int) int8) []int8 {
		v := make([]int8, n)
		for i := range v {
			v[i] = f(i)
		}
		return v
	}
	rnd := func() []int8 { return fill(func(int) int8 { return int8(rng.IntN(256) - 128) }) }
	return map[string][2][]int8{
		"random":           {rnd(), rnd()},
		"all-128":          {fill(func(int) int8 { return -128 }), fill(func(int) int8 { return -128 })},
		"all127":           {fill(func(int) int8 { return 127 }), fill(func(int) int8 { return 127 })},
		"-128x127":         {fill(func(int) int8 { return -128 }), fill(func(int) int8 { return 127 })},
		"alternating":      {fill(func(i int) int8 { return [2]int8{-128, 127}[i&1] }), fill(func(i int) int8 { return [2]int8{-128, 127}[(i>>1)&1] })},
		"extremes-random":  {fill(func(int) int8 { return [2]int8{-128, 127}[rng.IntN(2)] }), fill(func(int) int8 { return [2]int8{-128, 127}[rng.IntN(2)] })},
		"zeros-vs-random":  {make([]int8, n), rnd()},
		"-128-vs-extremes": {fill(func(int) int8 { return -128 }), fill(func(int) int8 { return [3]int8{-128, 127, 0}[rng.IntN(3)] })},
	}
}

var kernelLengths = []int{0, 1, 7, 15, 16, 17, 32, 48, 63, 64, 65, 100, 128, 511, 512, 513, 1024, 2000}

func TestDotI8MatchesGo(t *testing.T) {
	t.Logf("AVX2=%v FMA=%v", hasAVX2, hasFMA)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range kernelLengths {
		for name, p := range i8Patterns(rng, n) {
			want := dotI8Go(p[0], p[1])
			// independent int64 reference
			var ref int64
			for i := range p[0] {
				ref += int64(p[0][i]) * int64(p[1][i])
			}
			if int64(want) != ref {
				t.Fatalf("n=%d %s: dotI8Go=%d, reference %d", n, name, want, ref)
			}
			if got := dotI8(p[0], p[1]); got != want {
				t.Errorf("n=%d %s: dotI8=%d, want %d", n, name, got, want)
			}
		}
	}
}

func TestDotsI8MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, dim := range []int{8, 16, 20, 32, 48, 64, 80, 512, 576, 1024} {
		for _, count := range []int{1, 2, 3, 7, 33} {
			for name, p := range i8Patterns(rng, dim*count) {
				q := make([]int16, dim)
				for i := range q {
					q[i] = int16(p[0][i]) // widened int8 query
				}
				want := make([]int32, count)
				got := make([]int32, count)
				dotsI8Go(q, p[1], dim, count, want)
				dotsI8(q, p[1], dim, count, got)
				for r := range want {
					if ref := dotI8Go(p[0][:dim], p[1][r*dim:(r+1)*dim]); want[r] != ref {
						t.Fatalf("dim=%d count=%d %s row %d: dotsI8Go=%d, dotI8Go=%d", dim, count, name, r, want[r], ref)
					}
					if got[r] != want[r] {
						t.Errorf("dim=%d count=%d %s row %d: dotsI8=%d, want %d", dim, count, name, r, got[r], want[r])
					}
				}
			}
		}
	}
}

func TestDotF32MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gens := map[string]func() float32{
		"normal": func() float32 { return float32(rng.NormFloat64()) },
		"unit":   func() float32 { return float32(rng.NormFloat64() / math.Sqrt(512)) },
		"large":  func() float32 { return float32(rng.NormFloat64() * 1e15) },
		"tiny":   func() float32 { return float32(rng.NormFloat64() * 1e-15) },
	}
	for _, n := range kernelLengths {
		for name, gen := range gens {
			for rep := 0; rep < 5; rep++ {
				a, b := make([]float32, n), make([]float32, n)
				var abs float64 // sum |a_i b_i|: the scale of the rounding error
				var ref float64
				for i := range a {
					a[i], b[i] = gen(), gen()
					abs += math.Abs(float64(a[i]) * float64(b[i]))
					ref += float64(a[i]) * float64(b[i])
				}
				want := dotF32Go(a, b)
				got := dotF32(a, b)
				tol := 1e-5 * abs
				if d := math.Abs(float64(got) - float64(want)); d > tol {
					t.Errorf("n=%d %s: dotF32=%g, dotF32Go=%g (diff %g > %g)", n, name, got, want, d, tol)
				}
				if d := math.Abs(float64(got) - ref); d > tol {
					t.Errorf("n=%d %s: dotF32=%g, float64 reference %g (diff %g > %g)", n, name, got, ref, d, tol)
				}
			}
		}
	}
	// Unit vectors: relative error on the result itself.
	a, b := randUnit(rng, 512), randUnit(rng, 512)
	copy(b, a)
	if got, want := dotF32(a, b), dotF32Go(a, b); math.Abs(float64(got-want)) > 1e-5*math.Abs(float64(want)) {
		t.Errorf("unit self-dot: %g vs %g", got, want)
	}
}

func TestQuantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	v := randUnit(rng, 100)
	dst := make([]int8, 128)
	for i := range dst {
		dst[i] = 5 // padding must be cleared
	}
	sc := quantize(v, dst)
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if sc != m/127 {
		t.Fatalf("scale %g, want %g", sc, m/127)
	}
	for i, x := range v {
		if want := int8(math.Round(float64(x) / float64(sc))); dst[i] != want && math.Abs(float64(dst[i])-float64(want)) > 1 {
			t.Fatalf("code %d = %d, want %d", i, dst[i], want)
		}
		if d := math.Abs(float64(dst[i])*float64(sc) - float64(x)); d > float64(sc)/2*1.0001 {
			t.Fatalf("code %d off by %g (scale %g)", i, d, sc)
		}
	}
	for _, c := range dst[100:] {
		if c != 0 {
			t.Fatal("padding not zeroed")
		}
	}
	if sc := quantize(make([]float32, 10), dst); sc != 0 || dst[0] != 0 {
		t.Fatal("zero vector")
	}
}
