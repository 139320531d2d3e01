package index

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
)

const (
	scanChunk      = 1024  // rows scored per batched kernel call
	minRowsPerTask = 16384 // below this many rows per worker, fewer goroutines are used
)

// candidateFloor is the minimum number of candidate subjects kept by the approximate stage.
const candidateFloor = 256

// forceApprox makes Search use the int8 stage even when every subject would be a candidate (tests).
var forceApprox = false

// row returns the float32 template in slot.
func (g *gallery) row(dim int, slot int32) []float32 {
	off := int(slot&segMask) * dim
	return g.vecs[slot>>segShift][off : off+dim]
}

// workersFor returns how many goroutines scan n rows.
func workersFor(n int) int {
	w := min(runtime.GOMAXPROCS(0), (n+minRowsPerTask-1)/minRowsPerTask)
	return max(w, 1)
}

// parallel runs fn(worker, lo, hi) over [0,n) in chunks of chunk rows, handed out dynamically to
// workers goroutines (worker 0 is the caller). Chunks never straddle a segment when chunk divides
// segSize.
func parallel(n, chunk, workers int, fn func(w, lo, hi int)) {
	if workers <= 1 {
		for lo := 0; lo < n; lo += chunk {
			fn(0, lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	run := func(w int) {
		for {
			lo := int(next.Add(int64(chunk))) - chunk
			if lo >= n {
				return
			}
			fn(w, lo, min(lo+chunk, n))
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(w)
		}()
	}
	run(0)
	wg.Wait()
}

// cand is an approximate-stage candidate: a subject's best approximate score so far.
type cand struct {
	score float32
	subj  int32
}

// candSet keeps the best limit subjects by approximate score (a min-heap on score, plus the heap
// position of each subject so a subject appears at most once, with its maximum).
type candSet struct {
	h     []cand
	pos   map[int32]int32
	limit int
}

func (c *candSet) reset(limit int) {
	c.h = c.h[:0]
	if c.pos == nil {
		c.pos = make(map[int32]int32, limit)
	} else {
		clear(c.pos)
	}
	c.limit = limit
}

// threshold returns the score a new subject must exceed to enter the set.
func (c *candSet) threshold() float32 {
	if len(c.h) < c.limit {
		return float32(math.Inf(-1))
	}
	return c.h[0].score
}

func (c *candSet) offer(score float32, subj int32) {
	if p, ok := c.pos[subj]; ok {
		if score > c.h[p].score {
			c.h[p].score = score
			c.down(int(p))
		}
		return
	}
	if len(c.h) < c.limit {
		c.h = append(c.h, cand{score, subj})
		c.pos[subj] = int32(len(c.h) - 1)
		c.up(len(c.h) - 1)
		return
	}
	if !(score > c.h[0].score) {
		return
	}
	delete(c.pos, c.h[0].subj)
	c.h[0] = cand{score, subj}
	c.pos[subj] = 0
	c.down(0)
}

func (c *candSet) swap(i, j int) {
	c.h[i], c.h[j] = c.h[j], c.h[i]
	c.pos[c.h[i].subj] = int32(i)
	c.pos[c.h[j].subj] = int32(j)
}

func (c *candSet) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !(c.h[i].score < c.h[p].score) {
			return
		}
		c.swap(i, p)
		i = p
	}
}

func (c *candSet) down(i int) {
	n := len(c.h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && c.h[r].score < c.h[l].score {
			m = r
		}
		if !(c.h[m].score < c.h[i].score) {
			return
		}
		c.swap(i, m)
		i = m
	}
}

// scanState is one worker's scratch space for the approximate scan.
type scanState struct {
	dots []int32
	set  candSet
}

var scanPool = sync.Pool{New: func() any { return &scanState{dots: make([]int32, scanChunk)} }}

// scan scores rows [lo,hi) of g (within one segment) against the widened query and offers them to set.
func (g *gallery) scan(qi []int16, stride, lo, hi int, st *scanState) {
	m := hi - lo
	off := lo & segMask
	dots := st.dots[:m]
	dotsI8(qi, g.codes[lo>>segShift][off*stride:(off+m)*stride], stride, m, dots)
	scales := g.scale[lo:hi]
	subj := g.subj[lo:hi]
	set := &st.set
	thr := set.threshold()
	for j, d := range dots {
		if s := float32(d) * scales[j]; s > thr {
			set.offer(s, subj[j])
			thr = set.threshold()
		}
	}
}

// result is an exactly scored subject.
type result struct {
	score float32
	subj  int32
	slot  int32
}

// better reports whether a ranks before b: higher score, then smaller subject id.
func (g *gallery) better(a, b result) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return g.subjName[a.subj] < g.subjName[b.subj]
}

// betterFace reports whether slot a (score sa) beats slot b (score sb) as a subject's best face:
// higher score, then smaller face id.
func (g *gallery) betterFace(sa float32, a int32, sb float32, b int32) bool {
	if sa != sb {
		return sa > sb
	}
	return g.face[a] < g.face[b]
}

func (g *gallery) hits(res []result) []Hit {
	slices.SortFunc(res, func(a, b result) int {
		if g.better(a, b) {
			return -1
		}
		if g.better(b, a) {
			return 1
		}
		return 0
	})
	out := make([]Hit, len(res))
	for i, r := range res {
		out[i] = Hit{Subject: g.subjName[r.subj], Face: g.face[r.slot], Score: r.score}
	}
	return out
}

// Search returns the top k subjects of gallery for query q (len(q) must equal the dimension, else
// nil): a subject's score is the maximum exact dot product over its templates; hits are ordered by
// score, highest first, ties by subject id, and each names the subject's best face (ties: smallest
// face id). It uses the int8 scan to pick max(10k, 256) candidate subjects and re-ranks every
// template of those candidates exactly, so the returned scores are exact float32 scores.
func (ix *Index) Search(gallery string, q []float32, k int) []Hit {
	if k <= 0 || len(q) != ix.dim {
		return nil
	}
	g := ix.lookup(gallery)
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := g.n
	R := max(10*k, candidateFloor)
	if n == 0 {
		return nil
	}
	if len(g.subjName) <= R && !forceApprox {
		// Every subject would be a candidate: score them all exactly.
		return ix.exactLocked(g, q, k)
	}

	// Quantise the query (scale_q only scales all approximate scores alike, so it is dropped) and
	// widen it to int16 for the batched kernel.
	qc := make([]int8, ix.stride)
	quantize(q, qc)
	qi := make([]int16, ix.stride)
	for i, x := range qc {
		qi[i] = int16(x)
	}

	workers := workersFor(n)
	states := make([]*scanState, workers)
	for w := range states {
		st := scanPool.Get().(*scanState)
		st.set.reset(R)
		states[w] = st
	}
	parallel(n, scanChunk, workers, func(w, lo, hi int) {
		g.scan(qi, ix.stride, lo, hi, states[w])
	})

	// Merge the per-worker candidate sets (per-subject max) and keep the best R subjects.
	merged := states[0]
	for _, st := range states[1:] {
		for _, c := range st.set.h {
			merged.set.offer(c.score, c.subj)
		}
	}
	cands := make([]int32, len(merged.set.h))
	for i, c := range merged.set.h {
		cands[i] = c.subj
	}
	for _, st := range states {
		scanPool.Put(st)
	}

	// Exact re-ranking of every template of every candidate subject.
	res := make([]result, 0, len(cands))
	for _, s := range cands {
		best := result{subj: s, slot: -1}
		for _, slot := range g.subjSlots[s] {
			sc := dotF32(q, g.row(ix.dim, slot))
			if best.slot < 0 || g.betterFace(sc, slot, best.score, best.slot) {
				best.score, best.slot = sc, slot
			}
		}
		res = append(res, best)
	}
	out := g.hits(res)
	return out[:min(k, len(out))]
}

// SearchExact returns the same as Search, computed by scoring every template of the gallery exactly
// in float32 (the reference for Search).
func (ix *Index) SearchExact(gallery string, q []float32, k int) []Hit {
	if k <= 0 || len(q) != ix.dim {
		return nil
	}
	g := ix.lookup(gallery)
	if g == nil {
		return nil
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.n == 0 {
		return nil
	}
	return ix.exactLocked(g, q, k)
}

// exactLocked is SearchExact with g read-locked and non-empty.
func (ix *Index) exactLocked(g *gallery, q []float32, k int) []Hit {
	n := g.n
	scores := make([]float32, n)
	parallel(n, scanChunk, workersFor(4*n) /* a float32 row is 4x the bytes of an int8 row */, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			scores[i] = dotF32(q, g.row(ix.dim, int32(i)))
		}
	})
	// Per-subject best face.
	best := make([]int32, len(g.subjName))
	for i := range best {
		best[i] = -1
	}
	for i, sc := range scores {
		s := g.subj[i]
		if b := best[s]; b < 0 || g.betterFace(sc, int32(i), scores[b], b) {
			best[s] = int32(i)
		}
	}
	// Top k subjects: a bounded heap whose root is the worst kept result.
	k = min(k, len(best))
	h := make([]result, 0, k)
	worse := func(a, b result) bool { return g.better(b, a) }
	for s, slot := range best {
		r := result{score: scores[slot], subj: int32(s), slot: slot}
		if len(h) < k {
			h = append(h, r)
			for i := len(h) - 1; i > 0; {
				p := (i - 1) / 2
				if !worse(h[i], h[p]) {
					break
				}
				h[i], h[p] = h[p], h[i]
				i = p
			}
			continue
		}
		if r.score < h[0].score || !g.better(r, h[0]) {
			continue
		}
		h[0] = r
		for i := 0; ; {
			l := 2*i + 1
			if l >= k {
				break
			}
			m := l
			if l+1 < k && worse(h[l+1], h[l]) {
				m = l + 1
			}
			if !worse(h[m], h[i]) {
				break
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	return g.hits(h)
}
