package index

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The 1M-template gallery is built lazily, once per test binary, only by the benchmarks that need it,
// so `go test ./index` without -bench never builds it.
const bench1M = 1_000_000

var big struct {
	once     sync.Once
	ix       *Index
	queries  [][]float32
	load     time.Duration // time to Add 1M templates (vectors generated beforehand)
	heapPerT float64       // heap growth per template during the load, ids and maps included
}

func randUnitInto(rng *rand.Rand, v []float32) {
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
}

func bigIndex(b *testing.B) *Index {
	if testing.Short() {
		b.Skip("-short: not building the 1M-template gallery")
	}
	big.once.Do(func() {
		const dim = 512
		// Generate all vectors first (in parallel), so that the load time measures Add alone.
		raw := make([]float32, bench1M*dim)
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 1234))
				for i := w; i < bench1M; i += workers {
					randUnitInto(rng, raw[i*dim:(i+1)*dim])
				}
			}()
		}
		wg.Wait()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		ix := New(dim)
		t0 := time.Now()
		for i := 0; i < bench1M; i++ {
			// one template per subject; subject and face ids share the string
			id := strconv.Itoa(i)
			if err := ix.Add("g", id, id, raw[i*dim:(i+1)*dim]); err != nil {
				b.Fatal(err)
			}
		}
		big.load = time.Since(t0)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		big.heapPerT = (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / bench1M
		runtime.KeepAlive(raw)
		raw = nil
		runtime.GC()
		rng := rand.New(rand.NewPCG(99, 100))
		for i := 0; i < 64; i++ {
			big.queries = append(big.queries, randUnit(rng, dim))
		}
		big.ix = ix
	})
	b.Logf("1M templates: load (Add x 1M) %v = %.2f us/template; MemoryPerTemplate %d B; heap growth %.0f B/template (ids and maps included)",
		big.load, float64(big.load.Microseconds())/bench1M, big.ix.MemoryPerTemplate(), big.heapPerT)
	return big.ix
}

// benchQueries runs search b.N times and reports the median latency and ns per template.
func benchQueries(b *testing.B, search func(q []float32) []Hit) {
	times := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		hits := search(big.queries[i%len(big.queries)])
		times = append(times, time.Since(t0))
		if len(hits) != 10 {
			b.Fatalf("%d hits", len(hits))
		}
	}
	b.StopTimer()
	slices.Sort(times)
	med := times[len(times)/2]
	b.ReportMetric(float64(med.Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/bench1M, "ns/template")
}

func BenchmarkSearch1M(b *testing.B) {
	ix := bigIndex(b)
	benchQueries(b, func(q []float32) []Hit { return ix.Search("g", q, 10) })
}

func BenchmarkSearchExact1M(b *testing.B) {
	ix := bigIndex(b)
	benchQueries(b, func(q []float32) []Hit { return ix.SearchExact("g", q, 10) })
}

func BenchmarkAdd(b *testing.B) {
	const dim = 512
	rng := rand.New(rand.NewPCG(1, 1))
	pool := make([][]float32, 1024)
	for i := range pool {
		pool[i] = randUnit(rng, dim)
	}
	ix := New(dim)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := strconv.Itoa(i)
		if err := ix.Add("g", id, id, pool[i&1023]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKernelDotsI8(b *testing.B) {
	const dim, rows = 512, scanChunk
	rng := rand.New(rand.NewPCG(2, 2))
	x := make([]int8, dim*rows)
	for i := range x {
		x[i] = int8(rng.IntN(256) - 128)
	}
	q := make([]int16, dim)
	for i := range q {
		q[i] = int16(rng.IntN(255) - 127)
	}
	out := make([]int32, rows)
	b.SetBytes(dim * rows)
	for i := 0; i < b.N; i++ {
		dotsI8(q, x, dim, rows, out)
	}
}

func BenchmarkKernelDotF32(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	x, y := randUnit(rng, 512), randUnit(rng, 512)
	b.SetBytes(2 * 4 * 512)
	var s float32
	for i := 0; i < b.N; i++ {
		s += dotF32(x, y)
	}
	_ = s
}
