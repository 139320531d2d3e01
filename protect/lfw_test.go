//go:build cgo

package protect_test

import (
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/eval"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/protect"
)

// TestLFWProtection measures the template transform on real templates: the official 6,000 LFW pairs embedded
// once by the project's engine, then scored plain, under one secret (a deployment), across two secrets (two
// deployments, or a leaked set against the deployment after its secret changed), leaked-transformed against
// plain, and against an attacker who estimates the rotation from known correspondences. The figures are in
// docs/protection.md. Opt-in, about three minutes on a 2-core machine:
//
//	FACEGATE_PROTECT_LFW=1 go test -tags libjpeg -count=1 -v -timeout 30m -run TestLFWProtection ./protect
//
// FACEGATE_PROTECT_LFW_CACHE=FILE keeps the templates in FILE (gob) between runs.
func TestLFWProtection(t *testing.T) {
	if os.Getenv("FACEGATE_PROTECT_LFW") != "1" {
		t.Skip("LFW measurement of the template transform (a few minutes): set FACEGATE_PROTECT_LFW=1 to run it")
	}
	pairsPath := testutil.Shared(t, "lfw/pairs.txt")
	dir := testutil.Shared(t, "lfw/images_deepfunneled")
	f, err := os.Open(pairsPath)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := eval.ParseLFWPairs(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 6000 {
		t.Fatalf("%d pairs in %s, want 6000", len(pairs), pairsPath)
	}
	tmpl := lfwTemplates(t, pairs, dir)

	secretA := []byte("facegate LFW measurement, deployment A secret")
	secretB := []byte("facegate LFW measurement, deployment B secret")
	start := time.Now()
	trA, err := protect.NewTransform(secretA, facegate.TemplateDim)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("NewTransform(%d): %v", facegate.TemplateDim, time.Since(start).Round(time.Millisecond))
	trB, err := protect.NewTransform(secretB, facegate.TemplateDim)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(tmpl))
	for n := range tmpl {
		names = append(names, n)
	}
	underA := map[string][]float32{}
	underB := map[string][]float32{}
	start = time.Now()
	for _, n := range names {
		underA[n] = trA.Apply(tmpl[n])
	}
	t.Logf("Apply: %.1f µs per template (%d templates)", float64(time.Since(start).Microseconds())/float64(len(names)), len(names))
	for _, n := range names {
		underB[n] = trB.Apply(tmpl[n])
	}

	score := func(a, b map[string][]float32) []eval.Scored {
		s := make([]eval.Scored, len(pairs))
		for i, p := range pairs {
			x, y := a[p.A], b[p.B]
			v := -1.0 // no face: "different", as facegate eval verify does
			if x != nil && y != nil {
				v = float64(facegate.Similarity(x, y))
			}
			s[i] = eval.Scored{Score: v, Same: p.Same, Fold: p.Fold}
		}
		return s
	}
	plain := score(tmpl, tmpl)
	sameDep := score(underA, underA)
	crossDep := score(underA, underB)
	leakedVsPlain := score(tmpl, underA)

	thr := modelpack.Manifest().Threshold.Value
	report(t, "plain", plain, thr)
	report(t, "one secret (A,A)", sameDep, thr)
	report(t, "two secrets (A,B)", crossDep, thr)
	report(t, "plain vs leaked (-,A)", leakedVsPlain, thr)

	maxDiff, flipped := 0.0, 0
	for i := range plain {
		maxDiff = math.Max(maxDiff, math.Abs(plain[i].Score-sameDep[i].Score))
		if (plain[i].Score >= thr) != (sameDep[i].Score >= thr) {
			flipped++
		}
	}
	t.Logf("one secret vs plain: max |score difference| %.2e over 6000 pairs; decisions changed at threshold %.4f: %d",
		maxDiff, thr, flipped)
	if maxDiff >= 1e-5 {
		t.Errorf("transform changed a score by %.2e (want < 1e-5)", maxDiff)
	}
	kp, ka := eval.KFold(plain, 10), eval.KFold(sameDep, 10)
	if kp.Mean < 0.99 {
		t.Errorf("plain 10-fold accuracy %.2f%% < 99%%: harness problem?", 100*kp.Mean)
	}
	if math.Abs(kp.Mean-ka.Mean) > 0.001 {
		t.Errorf("10-fold accuracy plain %.2f%%, under one secret %.2f%%: want within 0.1%%", 100*kp.Mean, 100*ka.Mean)
	}
	for _, c := range []struct {
		name string
		s    []eval.Scored
	}{{"two secrets", crossDep}, {"plain vs leaked", leakedVsPlain}} {
		k := eval.KFold(c.s, 10)
		tar, _ := eval.TARAtFAR(c.s, 1e-3)
		if k.Mean > 0.6 || tar > 0.02 {
			t.Errorf("%s: 10-fold accuracy %.2f%%, TAR@FAR=1e-3 %.2f%%: templates are linkable", c.name, 100*k.Mean, 100*tar)
		}
	}
	genuineStats(t, "genuine pairs, plain", plain)
	genuineStats(t, "genuine pairs, two secrets", crossDep)

	// The limit of a linear transform: an attacker holding m correspondences (a plain template and the leaked
	// transformed template of the same person) fits the rotation by orthogonal Procrustes and links the rest.
	// Correspondences come from folds 0-4, evaluation on folds 5-9 (3,000 pairs, 5 folds).
	var held []eval.Scored
	for _, s := range plain {
		if s.Fold >= 5 {
			held = append(held, s)
		}
	}
	report(t, "plain, folds 5-9", held, thr)
	var genuineTrain [][2]string
	for _, p := range pairs {
		if p.Fold < 5 && p.Same && tmpl[p.A] != nil && tmpl[p.B] != nil {
			genuineTrain = append(genuineTrain, [2]string{p.A, p.B})
		}
	}
	var trainImages []string // distinct images of folds 0-4, for the exact-pairs attack
	seen := map[string]bool{}
	for _, p := range pairs {
		if p.Fold >= 5 {
			continue
		}
		for _, n := range []string{p.A, p.B} {
			if !seen[n] && tmpl[n] != nil {
				seen[n] = true
				trainImages = append(trainImages, n)
			}
		}
	}
	evalMapped := func(name string, m []float64) {
		mapped := map[string][]float32{}
		for _, n := range names {
			mapped[n] = mulUnit(m, tmpl[n])
		}
		var s []eval.Scored
		for _, p := range pairs {
			if p.Fold < 5 {
				continue
			}
			v := -1.0
			if x, y := mapped[p.A], underA[p.B]; x != nil && y != nil {
				v = float64(facegate.Similarity(x, y))
			}
			s = append(s, eval.Scored{Score: v, Same: p.Same, Fold: p.Fold})
		}
		report(t, name, s, thr)
	}
	for _, m := range []int{10, 30, 100, 300, len(genuineTrain)} {
		var plainSide, leakedSide [][]float32
		for _, g := range genuineTrain[:m] {
			plainSide = append(plainSide, tmpl[g[0]])
			leakedSide = append(leakedSide, underA[g[1]])
		}
		start := time.Now()
		est := procrustes(leakedSide, plainSide)
		evalMapped(fmt.Sprintf("attack: %d same-person correspondences (%v)", m, time.Since(start).Round(time.Second)), est)
	}
	for _, m := range []int{10, 30, 100, 300} {
		var plainSide, leakedSide [][]float32
		for _, n := range trainImages[:m] {
			plainSide = append(plainSide, tmpl[n])
			leakedSide = append(leakedSide, underA[n])
		}
		start := time.Now()
		est := procrustes(leakedSide, plainSide)
		evalMapped(fmt.Sprintf("attack: %d same-image correspondences (%v)", m, time.Since(start).Round(time.Second)), est)
	}
}

func report(t *testing.T, name string, s []eval.Scored, thr float64) {
	t.Helper()
	k := eval.KFold(s, 10)
	tar3, _ := eval.TARAtFAR(s, 1e-3)
	tar2, _ := eval.TARAtFAR(s, 1e-2)
	eer, _ := eval.EER(s)
	auc := eval.AUC(eval.ROC(s))
	t.Logf("| %s | %.2f%% ± %.2f%% | %.2f%% | %.2f%% | %.2f%% | %.4f | %.2f%% |", name, 100*k.Mean, 100*k.Std,
		100*tar2, 100*tar3, 100*eer, auc, 100*eval.AccuracyAt(s, thr))
}

func genuineStats(t *testing.T, name string, s []eval.Scored) {
	t.Helper()
	var sum, sq, lo, hi float64
	lo, hi = math.Inf(1), math.Inf(-1)
	n := 0
	for _, v := range s {
		if !v.Same {
			continue
		}
		n++
		sum += v.Score
		sq += v.Score * v.Score
		lo, hi = math.Min(lo, v.Score), math.Max(hi, v.Score)
	}
	mean := sum / float64(n)
	t.Logf("%s: %d, similarity mean %.4f, sd %.4f, min %.4f, max %.4f", name, n, mean, math.Sqrt(sq/float64(n)-mean*mean), lo, hi)
}

// lfwTemplates embeds every image the pairs name (the primary face's template; nil when no face is found),
// keyed by the name in the pair list, reading and writing $FACEGATE_PROTECT_LFW_CACHE when it is set.
func lfwTemplates(t *testing.T, pairs []eval.Pair, dir string) map[string][]float32 {
	cache := os.Getenv("FACEGATE_PROTECT_LFW_CACHE")
	if cache != "" {
		if f, err := os.Open(cache); err == nil {
			var m map[string][]float32
			err := gob.NewDecoder(f).Decode(&m)
			f.Close()
			if err == nil {
				t.Logf("templates read from %s (%d)", cache, len(m))
				return m
			}
			t.Logf("ignoring cache %s: %v", cache, err)
		} else if !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	e := testutil.Engine(t)
	var names []string
	seen := map[string]bool{}
	for _, p := range pairs {
		for _, n := range []string{p.A, p.B} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	out := make(map[string][]float32, len(names))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var done, noFace atomic.Int64
	jobs := make(chan string)
	start := time.Now()
	for w := 0; w < runtime.NumCPU(); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				img, _, err := imgio.DecodeFile(filepath.Join(dir, filepath.FromSlash(n)), imgio.DefaultLimits)
				if err != nil {
					t.Errorf("%s: %v", n, err)
					continue
				}
				faces, err := e.Analyze(t.Context(), img, engine.Options{PrimaryOnly: true, Embed: true})
				if err != nil {
					t.Errorf("%s: %v", n, err)
					continue
				}
				var tp []float32
				if len(faces) > 0 {
					tp = faces[0].Template
				} else {
					noFace.Add(1)
				}
				mu.Lock()
				out[n] = tp
				mu.Unlock()
				if d := done.Add(1); d%1000 == 0 {
					t.Logf("embedded %d/%d images", d, len(names))
				}
			}
		}()
	}
	for _, n := range names {
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	t.Logf("embedded %d images in %v (%d with no face), %d workers", len(names), time.Since(start).Round(time.Second),
		noFace.Load(), runtime.NumCPU())
	if t.Failed() {
		t.FailNow()
	}
	if cache != "" {
		f, err := os.Create(cache)
		if err != nil {
			t.Fatal(err)
		}
		if err := gob.NewEncoder(f).Encode(out); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// procrustes returns (row-major) the orthogonal matrix M that best maps xs onto ys in the least-squares sense,
// i.e. maximises Σ⟨M·x_i, y_i⟩: the polar factor of C = Σ y_i·x_iᵀ, by the Newton-Schulz iteration
// X ← X·(3I − XᵀX)/2 from C/‖C‖_F. Directions the x_i do not span stay (near) zero.
func procrustes(ys, xs [][]float32) []float64 {
	n := len(xs[0])
	c := make([]float64, n*n)
	for k := range xs {
		for i := 0; i < n; i++ {
			yi := float64(ys[k][i])
			row := c[i*n : (i+1)*n]
			for j, xj := range xs[k] {
				row[j] += yi * float64(xj)
			}
		}
	}
	var fro float64
	for _, v := range c {
		fro += v * v
	}
	fro = math.Sqrt(fro)
	for i := range c {
		c[i] /= fro
	}
	x := c
	for it := 0; it < 80; it++ {
		g := matmul(transpose(x, n), x, n) // XᵀX
		var dev float64
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				v := -g[i*n+j]
				if i == j {
					v += 3
				}
				g[i*n+j] = v / 2
			}
		}
		nx := matmul(x, g, n)
		for i := range nx {
			dev = math.Max(dev, math.Abs(nx[i]-x[i]))
		}
		x = nx
		if dev < 1e-10 {
			break
		}
	}
	return x
}

func transpose(a []float64, n int) []float64 {
	t := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			t[j*n+i] = a[i*n+j]
		}
	}
	return t
}

// matmul returns a·b for n×n row-major matrices, rows split across the CPUs.
func matmul(a, b []float64, n int) []float64 {
	out := make([]float64, n*n)
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				row := out[i*n : (i+1)*n]
				for k := 0; k < n; k++ {
					aik := a[i*n+k]
					if aik == 0 {
						continue
					}
					bk := b[k*n : (k+1)*n]
					for j := range row {
						row[j] += aik * bk[j]
					}
				}
			}
		}(w)
	}
	wg.Wait()
	return out
}

// mulUnit returns m·v normalised to unit length (nil for nil v).
func mulUnit(m []float64, v []float32) []float32 {
	if v == nil {
		return nil
	}
	n := len(v)
	y := make([]float64, n)
	var norm float64
	for i := range y {
		var s float64
		for j, x := range v {
			s += m[i*n+j] * float64(x)
		}
		y[i] = s
		norm += s * s
	}
	out := make([]float32, n)
	norm = math.Sqrt(norm)
	for i, s := range y {
		out[i] = float32(s / norm)
	}
	return out
}
