package index

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// vecScore returns a dim-4 unit vector whose dot product with e0 = (1,0,0,0) is s.
func vecScore(s float64, tag int) []float32 {
	r := math.Sqrt(1 - s*s)
	v := make([]float32, 4)
	v[0] = float32(s)
	v[1+tag%3] = float32(r)
	return v
}

var e0 = []float32{1, 0, 0, 0}

func mustAdd(t *testing.T, ix *Index, gallery, subject, face string, v []float32) {
	t.Helper()
	if err := ix.Add(gallery, subject, face, v); err != nil {
		t.Fatalf("Add(%q,%q,%q): %v", gallery, subject, face, err)
	}
}

func searchBoth(ix *Index, gallery string, q []float32, k int) (approx, exact []Hit) {
	return ix.Search(gallery, q, k), ix.SearchExact(gallery, q, k)
}

func TestAggregationAndTies(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		ix := New(4)
		mustAdd(t, ix, "g", "alice", "a1", vecScore(0.5, 0))
		mustAdd(t, ix, "g", "alice", "a2", vecScore(0.9, 1))
		mustAdd(t, ix, "g", "alice", "a3", vecScore(0.2, 2))
		mustAdd(t, ix, "g", "bob", "b1", vecScore(0.8, 0))
		mustAdd(t, ix, "g", "carol", "c1", vecScore(0.3, 0))
		// ties: "dave" and "dan" score exactly alike; "erin" has two identical faces
		mustAdd(t, ix, "g", "dave", "d1", vecScore(0.6, 0))
		mustAdd(t, ix, "g", "dan", "d2", vecScore(0.6, 0))
		mustAdd(t, ix, "g", "erin", "e9", vecScore(0.7, 0))
		mustAdd(t, ix, "g", "erin", "e1", vecScore(0.7, 0))

		for _, hits := range [][]Hit{ix.Search("g", e0, 10), ix.SearchExact("g", e0, 10)} {
			want := []Hit{{"alice", "a2", 0.9}, {"bob", "b1", 0.8}, {"erin", "e1", 0.7}, {"dan", "d2", 0.6}, {"dave", "d1", 0.6}, {"carol", "c1", 0.3}}
			if len(hits) != len(want) {
				t.Fatalf("got %s", hitsString(hits))
			}
			for i, h := range hits {
				if h.Subject != want[i].Subject || h.Face != want[i].Face || math.Abs(float64(h.Score-want[i].Score)) > 1e-6 {
					t.Fatalf("hit %d = %+v, want %+v (all: %s)", i, h, want[i], hitsString(hits))
				}
			}
			if hits[3].Score != hits[4].Score {
				t.Fatalf("tie lost: %s", hitsString(hits))
			}
		}
		// k smaller than the number of subjects, and k larger
		a, x := searchBoth(ix, "g", e0, 2)
		if !slices.Equal(subjectsOf(a), []string{"alice", "bob"}) || !slices.Equal(a, x) {
			t.Fatalf("k=2: %s / %s", hitsString(a), hitsString(x))
		}
		a, x = searchBoth(ix, "g", e0, 1000)
		if len(a) != 6 || !slices.Equal(a, x) {
			t.Fatalf("k=1000: %s / %s", hitsString(a), hitsString(x))
		}
		if ix.Len("g") != 9 || ix.Subjects("g") != 6 {
			t.Fatalf("Len %d Subjects %d", ix.Len("g"), ix.Subjects("g"))
		}
		// k <= 0 and wrong query dimension
		if h := ix.Search("g", e0, 0); h != nil {
			t.Fatal("k=0 returned hits")
		}
		if h := ix.Search("g", []float32{1, 0}, 3); h != nil {
			t.Fatal("wrong query dimension returned hits")
		}
	})
}

// A subject with many templates near the query must not crowd other subjects out of the candidate
// list (the int8 stage keeps a per-subject maximum).
func TestCandidatesAreSubjects(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const dim = 64
	ix := New(dim)
	q := randUnit(rng, dim)
	for i := 0; i < 600; i++ {
		mustAdd(t, ix, "g", "crowd", fmt.Sprintf("crowd-%d", i), noisy(rng, q, 0.1))
	}
	mustAdd(t, ix, "g", "second", "s1", noisy(rng, q, 0.8))
	for i := 0; i < 400; i++ {
		mustAdd(t, ix, "g", fmt.Sprintf("other-%d", i), fmt.Sprintf("o-%d", i), randUnit(rng, dim))
	}
	a, x := searchBoth(ix, "g", q, 2)
	if !slices.Equal(subjectsOf(a), []string{"crowd", "second"}) || !slices.Equal(a, x) {
		t.Fatalf("Search %s, SearchExact %s", hitsString(a), hitsString(x))
	}
}

func TestEmptyAndUnknownGallery(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		ix := New(4)
		for _, g := range []string{"nope", ""} {
			if h := ix.Search(g, e0, 5); len(h) != 0 {
				t.Fatalf("Search on unknown gallery: %v", h)
			}
			if h := ix.SearchExact(g, e0, 5); len(h) != 0 {
				t.Fatalf("SearchExact on unknown gallery: %v", h)
			}
			if ix.Len(g) != 0 || ix.Subjects(g) != 0 {
				t.Fatal("unknown gallery not empty")
			}
		}
		mustAdd(t, ix, "g", "s", "f", e0)
		if !ix.Remove("f") {
			t.Fatal("Remove failed")
		}
		if a, x := searchBoth(ix, "g", e0, 5); len(a) != 0 || len(x) != 0 {
			t.Fatal("emptied gallery returned hits")
		}
		if ix.Len("g") != 0 || ix.Subjects("g") != 0 {
			t.Fatal("emptied gallery not empty")
		}
		checkInvariants(t, ix)
	})
}

func TestAddValidation(t *testing.T) {
	ix := New(4)
	mustAdd(t, ix, "g", "s", "f", e0)
	cases := []struct {
		name               string
		gallery, subj, fce string
		v                  []float32
		want               error
	}{
		{"short", "g", "s", "f2", []float32{1, 0, 0}, ErrDimension},
		{"long", "g", "s", "f2", []float32{1, 0, 0, 0, 0}, ErrDimension},
		{"nil", "g", "s", "f2", nil, ErrDimension},
		{"duplicate", "g", "s", "f", e0, ErrDuplicateFace},
		{"duplicate-other-subject", "g", "t", "f", e0, ErrDuplicateFace},
		{"duplicate-other-gallery", "h", "s", "f", e0, ErrDuplicateFace},
		{"empty-face", "g", "s", "", e0, ErrEmptyID},
		{"nan", "g", "s", "f3", []float32{float32(math.NaN()), 0, 0, 0}, ErrNotFinite},
		{"inf", "g", "s", "f3", []float32{float32(math.Inf(1)), 0, 0, 0}, ErrNotFinite},
	}
	for _, c := range cases {
		if err := ix.Add(c.gallery, c.subj, c.fce, c.v); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	if ix.Len("g") != 1 || ix.Len("h") != 0 {
		t.Fatalf("failed adds changed the index: %d %d", ix.Len("g"), ix.Len("h"))
	}
	// v is copied
	v := []float32{0, 1, 0, 0}
	mustAdd(t, ix, "g", "s2", "f4", v)
	v[1], v[0] = 0, 1
	if h := ix.SearchExact("g", []float32{0, 1, 0, 0}, 1); len(h) != 1 || h[0].Face != "f4" || h[0].Score != 1 {
		t.Fatalf("template not copied: %v", h)
	}
	// a face id freed by Remove can be reused
	ix.Remove("f")
	mustAdd(t, ix, "h", "s", "f", e0)
	checkInvariants(t, ix)
}

func TestGalleriesIsolated(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		ix := New(4)
		mustAdd(t, ix, "A", "alice", "a1", vecScore(0.9, 0))
		mustAdd(t, ix, "A", "shared", "sa", vecScore(0.5, 1))
		mustAdd(t, ix, "B", "bob", "b1", vecScore(0.95, 0))
		mustAdd(t, ix, "B", "shared", "sb", vecScore(0.4, 1))
		for _, h := range ix.Search("A", e0, 10) {
			if h.Face != "a1" && h.Face != "sa" {
				t.Fatalf("gallery A returned %+v", h)
			}
		}
		hb := ix.SearchExact("B", e0, 10)
		if !slices.Equal(subjectsOf(hb), []string{"bob", "shared"}) || hb[1].Face != "sb" {
			t.Fatalf("gallery B: %s", hitsString(hb))
		}
		if n := ix.RemoveSubject("A", "shared"); n != 1 {
			t.Fatalf("RemoveSubject removed %d", n)
		}
		if ix.Subjects("B") != 2 || ix.Subjects("A") != 1 {
			t.Fatal("RemoveSubject crossed galleries")
		}
		if n := ix.RemoveGallery("A"); n != 1 {
			t.Fatalf("RemoveGallery removed %d", n)
		}
		if a, x := searchBoth(ix, "B", e0, 10); len(a) != 2 || len(x) != 2 || ix.Len("A") != 0 || ix.Len("B") != 2 {
			t.Fatal("RemoveGallery touched another gallery")
		}
		if ix.Remove("a1") {
			t.Fatal("face of removed gallery still removable")
		}
		mustAdd(t, ix, "A", "alice", "a1", e0) // ids of a removed gallery are free again
		checkInvariants(t, ix)
	})
}

func TestRemove(t *testing.T) {
	bothModes(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		const dim = 32
		ix := New(dim)
		vecs := map[string][]float32{}
		subjOf := map[string]string{}
		for s := 0; s < 400; s++ {
			for f := 0; f <= s%4; f++ {
				face := fmt.Sprintf("s%d-f%d", s, f)
				vecs[face] = randUnit(rng, dim)
				subjOf[face] = fmt.Sprintf("s%d", s)
				mustAdd(t, ix, "g", subjOf[face], face, vecs[face])
			}
		}
		total := len(vecs)
		removedFaces := map[string]bool{}
		removedSubjects := map[string]bool{}
		// Remove single faces.
		n := 0
		for face := range vecs {
			if n == 150 {
				break
			}
			if !ix.Remove(face) {
				t.Fatalf("Remove(%q) = false", face)
			}
			if ix.Remove(face) {
				t.Fatalf("second Remove(%q) = true", face)
			}
			removedFaces[face] = true
			n++
		}
		// Remove whole subjects.
		for s := 0; s < 400; s += 7 {
			subj := fmt.Sprintf("s%d", s)
			want := 0
			for face, sj := range subjOf {
				if sj == subj && !removedFaces[face] {
					want++
					removedFaces[face] = true
				}
			}
			if got := ix.RemoveSubject("g", subj); got != want {
				t.Fatalf("RemoveSubject(%s) = %d, want %d", subj, got, want)
			}
			removedSubjects[subj] = true
		}
		if ix.RemoveSubject("g", "nobody") != 0 || ix.RemoveSubject("nogallery", "s1") != 0 || ix.Remove("nothing") {
			t.Fatal("removing unknown ids reported success")
		}
		checkInvariants(t, ix)
		if ix.Len("g") != total-len(removedFaces) {
			t.Fatalf("Len %d, want %d", ix.Len("g"), total-len(removedFaces))
		}
		live := map[string]bool{}
		for face, sj := range subjOf {
			if !removedFaces[face] {
				live[sj] = true
			}
		}
		if ix.Subjects("g") != len(live) {
			t.Fatalf("Subjects %d, want %d", ix.Subjects("g"), len(live))
		}
		// Query with every removed template: it must never come back; subjects with no faces left never.
		for face := range removedFaces {
			a, x := searchBoth(ix, "g", vecs[face], 20)
			for _, h := range append(a, x...) {
				if removedFaces[h.Face] || removedSubjects[h.Subject] || !live[h.Subject] {
					t.Fatalf("removed face/subject returned: %+v", h)
				}
			}
			if !slices.Equal(a, x) {
				t.Fatalf("Search %s != SearchExact %s", hitsString(a), hitsString(x))
			}
		}
		// Compare with a brute-force model of the live faces.
		for i := 0; i < 20; i++ {
			q := randUnit(rng, dim)
			best := map[string]float32{}
			for face, v := range vecs {
				if removedFaces[face] {
					continue
				}
				sc := dotF32(q, v)
				if b, ok := best[subjOf[face]]; !ok || sc > b {
					best[subjOf[face]] = sc
				}
			}
			subs := make([]string, 0, len(best))
			for s := range best {
				subs = append(subs, s)
			}
			slices.SortFunc(subs, func(a, b string) int {
				if best[a] != best[b] {
					if best[a] > best[b] {
						return -1
					}
					return 1
				}
				if a < b {
					return -1
				}
				return 1
			})
			a, x := searchBoth(ix, "g", q, 15)
			if !slices.Equal(subjectsOf(a), subs[:15]) || !slices.Equal(subjectsOf(x), subs[:15]) {
				t.Fatalf("model %v, Search %v, SearchExact %v", subs[:15], subjectsOf(a), subjectsOf(x))
			}
		}
		// Remove everything.
		for face := range vecs {
			if !removedFaces[face] && !ix.Remove(face) {
				t.Fatalf("Remove(%q) failed", face)
			}
		}
		if ix.Len("g") != 0 || ix.Subjects("g") != 0 || len(ix.Search("g", vecs["s1-f0"], 5)) != 0 {
			t.Fatal("index not empty after removing everything")
		}
		checkInvariants(t, ix)
	})
}

// Grow past several segments, shrink back (segments are released), and grow again.
func TestSegmentsGrowAndShrink(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const dim = 16
	ix := New(dim)
	n := 3*segSize + 100
	vecs := make([][]float32, n)
	for i := range vecs {
		vecs[i] = randUnit(rng, dim)
		mustAdd(t, ix, "g", fmt.Sprintf("s%d", i%5000), fmt.Sprintf("f%d", i), vecs[i])
	}
	checkInvariants(t, ix)
	order := rng.Perm(n)
	for j, i := range order[:n-50] {
		if !ix.Remove(fmt.Sprintf("f%d", i)) {
			t.Fatal("Remove failed")
		}
		if j%4000 == 0 {
			checkInvariants(t, ix)
		}
	}
	checkInvariants(t, ix)
	if got := len(ix.galleries["g"].codes); got > 2 {
		t.Fatalf("%d segments kept for 50 rows", got)
	}
	for _, i := range order[n-50:] {
		h := ix.Search("g", vecs[i], 1)
		if len(h) != 1 || h[0].Face != fmt.Sprintf("f%d", i) {
			t.Fatalf("surviving face f%d not found: %v", i, h)
		}
	}
	for i := 0; i < segSize+10; i++ {
		mustAdd(t, ix, "g", "x", fmt.Sprintf("x%d", i), randUnit(rng, dim))
	}
	checkInvariants(t, ix)
}

// Search against SearchExact on a realistic-size gallery: 100k templates of 10k subjects (1 to 20
// templates each, clustered around a per-subject centre), 100 queries that are noisy copies of stored
// templates and 100 random queries.
func TestSearchMatchesExact(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const (
		dim       = 512
		subjects  = 10000
		templates = 100000
		k         = 10
	)
	rng := rand.New(rand.NewPCG(17, 18))
	counts := make([]int, subjects)
	for i := range counts {
		counts[i] = templates / subjects
	}
	for i := 0; i < 4*templates; i++ {
		a, b := rng.IntN(subjects), rng.IntN(subjects)
		if counts[a] < 20 && counts[b] > 1 {
			counts[a]++
			counts[b]--
		}
	}
	type item struct {
		subj, face string
		v          []float32
	}
	items := make([][]item, subjects)
	var wg sync.WaitGroup
	const workers = 8
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			for s := w; s < subjects; s += workers {
				centre := randUnit(r, dim)
				for f := 0; f < counts[s]; f++ {
					items[s] = append(items[s], item{fmt.Sprintf("subject-%05d", s), fmt.Sprintf("face-%05d-%02d", s, f), noisy(r, centre, 0.6)})
				}
			}
		}()
	}
	wg.Wait()
	ix := New(dim)
	var all []item
	for _, its := range items {
		all = append(all, its...)
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for _, it := range all {
		mustAdd(t, ix, "g", it.subj, it.face, it.v)
	}
	if ix.Len("g") != templates || ix.Subjects("g") != subjects {
		t.Fatalf("Len %d Subjects %d", ix.Len("g"), ix.Subjects("g"))
	}

	setEqual, found, total, top1Noisy := 0, 0, 0, 0
	const queries = 200
	for qi := 0; qi < queries; qi++ {
		var q []float32
		isNoisy := qi%2 == 0
		if isNoisy {
			q = noisy(rng, all[rng.IntN(len(all))].v, 0.7)
		} else {
			q = randUnit(rng, dim)
		}
		a, x := searchBoth(ix, "g", q, k)
		if len(a) != k || len(x) != k {
			t.Fatalf("query %d: %d / %d hits", qi, len(a), len(x))
		}
		exactScore := map[string]Hit{}
		for _, h := range x {
			exactScore[h.Subject] = h
		}
		n := 0
		for _, h := range a {
			if e, ok := exactScore[h.Subject]; ok {
				n++
				if e != h {
					t.Errorf("query %d: Search hit %+v, exact %+v", qi, h, e)
				}
			}
		}
		found += n
		total += k
		if n == k {
			setEqual++
		}
		if isNoisy {
			if a[0] == x[0] {
				top1Noisy++
			} else {
				t.Errorf("noisy query %d: top-1 %+v, exact %+v", qi, a[0], x[0])
			}
		}
		if !slices.IsSortedFunc(a, func(p, q Hit) int {
			if p.Score != q.Score {
				if p.Score > q.Score {
					return -1
				}
				return 1
			}
			if p.Subject < q.Subject {
				return -1
			}
			return 1
		}) {
			t.Errorf("query %d: hits not ordered: %s", qi, hitsString(a))
		}
	}
	t.Logf("top-%d subject sets identical for %d/%d queries; recall %.4f; noisy-copy top-1 identical %d/%d",
		k, setEqual, queries, float64(found)/float64(total), top1Noisy, queries/2)
	if float64(setEqual) < 0.995*queries {
		t.Errorf("top-%d sets identical for only %d/%d queries", k, setEqual, queries)
	}
}

// Searches run in parallel with adds and removes (run with -race). A face whose removal completed
// before a search started must never be returned.
func TestConcurrentSearchAndMutation(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	const dim = 64
	ix := New(dim)
	var pool [][]float32
	for i := 0; i < 256; i++ {
		pool = append(pool, randUnit(rng, dim))
	}
	for i := 0; i < 3000; i++ {
		mustAdd(t, ix, "g", fmt.Sprintf("base-%d", i), fmt.Sprintf("base-f%d", i), pool[i%len(pool)])
	}
	var (
		seq     atomic.Int64
		removed sync.Map // face -> seq at which its removal had completed
		stop    atomic.Bool
		wg      sync.WaitGroup
		errs    = make(chan string, 100)
	)
	report := func(s string) {
		select {
		case errs <- s:
		default:
		}
	}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 21))
			for !stop.Load() {
				start := seq.Load()
				q := pool[r.IntN(len(pool))]
				var hits []Hit
				switch r.IntN(3) {
				case 0:
					hits = ix.SearchExact("g", q, 10)
				case 1:
					hits = ix.Search("g", q, 10)
				default:
					hits = ix.Search("tmp", q, 5)
					_ = ix.Len("tmp") + ix.Subjects("g")
				}
				seen := map[string]bool{}
				for i, h := range hits {
					if v, ok := removed.Load(h.Face); ok && v.(int64) <= start {
						report(fmt.Sprintf("removed face %s returned", h.Face))
					}
					if seen[h.Subject] {
						report("subject returned twice")
					}
					seen[h.Subject] = true
					if i > 0 && hits[i-1].Score < h.Score {
						report("hits out of order")
					}
				}
			}
		}()
	}
	faces := make(chan string, 10000)
	var mut sync.WaitGroup
	mut.Add(2)
	go func() { // adder
		defer mut.Done()
		defer close(faces)
		r := rand.New(rand.NewPCG(22, 23))
		for i := 0; i < 1500; i++ {
			f := fmt.Sprintf("new-f%d", i)
			if err := ix.Add("g", fmt.Sprintf("new-%d", r.IntN(500)), f, pool[r.IntN(len(pool))]); err != nil {
				report(err.Error())
			}
			faces <- f
			if i%100 == 0 {
				_ = ix.Add("tmp", "s", fmt.Sprintf("tmp-%d", i), pool[0])
			}
		}
	}()
	go func() { // remover
		defer mut.Done()
		i := 0
		for f := range faces {
			i++
			switch {
			case i%3 == 0:
				if ix.Remove(f) {
					removed.Store(f, seq.Add(1))
				}
			case i%50 == 0:
				ix.RemoveSubject("g", fmt.Sprintf("base-%d", i))
				removed.Store(fmt.Sprintf("base-f%d", i), seq.Add(1))
			case i%200 == 0:
				ix.RemoveGallery("tmp")
			}
		}
	}()
	mut.Wait()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	checkInvariants(t, ix)
}
