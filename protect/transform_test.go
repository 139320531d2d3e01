package protect

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const dim = 512

var (
	secretA = []byte("deployment A: 0123456789abcdef")
	secretB = []byte("deployment B: 0123456789abcdef")
)

// cachedTransform builds each (secret, dim) transform once per test binary: a 512-d one takes about two seconds
// under the race detector.
var (
	cacheMu sync.Mutex
	cache   = map[string]*cached{}
)

type cached struct {
	once sync.Once
	tr   *Transform
	err  error
}

func cachedTransform(t testing.TB, secret []byte, n int) *Transform {
	t.Helper()
	key := fmt.Sprintf("%x/%d", secret, n)
	cacheMu.Lock()
	c := cache[key]
	if c == nil {
		c = &cached{}
		cache[key] = c
	}
	cacheMu.Unlock()
	c.once.Do(func() { c.tr, c.err = NewTransform(secret, n) })
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.tr
}

func randUnit(r *mrand.Rand, n int) []float32 {
	v := make([]float64, n)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return unit(v)
}

// noisy returns a unit vector whose similarity to the unit vector v is about sim: another capture of the same
// face.
func noisy(r *mrand.Rand, v []float32, sim float64) []float32 {
	n := randUnit(r, len(v))
	w := make([]float64, len(v))
	s := math.Sqrt(1 - sim*sim)
	for i := range w {
		w[i] = sim*float64(v[i]) + s*float64(n[i])
	}
	return unit(w)
}

func sim(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func matrixDigest(tr *Transform) string {
	h := sha256.New()
	var b [8]byte
	for _, x := range tr.m {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestNewTransformErrors(t *testing.T) {
	t.Parallel()
	if _, err := NewTransform([]byte("fifteen bytes!!"), dim); err == nil || !strings.Contains(err.Error(), "at least 16") {
		t.Errorf("15-byte secret: %v", err)
	}
	for _, n := range []int{-1, 0, 1, MaxTransformDim + 1} {
		if _, err := NewTransform(secretA, n); err == nil {
			t.Errorf("dim %d accepted", n)
		}
	}
	if _, err := NewTransform([]byte("sixteen bytes!!!"), 2); err != nil {
		t.Errorf("16-byte secret, dim 2: %v", err)
	}
}

// R·Rᵀ = I to 1e-9 (in float64), for the template dimension and a few odd ones.
func TestTransformOrthogonal(t *testing.T) {
	t.Parallel()
	for _, n := range []int{2, 3, 7, 64, dim} {
		tr := cachedTransform(t, secretA, n)
		worst := 0.0
		for i := 0; i < n; i++ {
			ri := tr.m[i*n : (i+1)*n]
			for j := i; j < n; j++ {
				d := dot(ri, tr.m[j*n:(j+1)*n])
				if i == j {
					d--
				}
				worst = math.Max(worst, math.Abs(d))
			}
		}
		if worst > 1e-9 {
			t.Errorf("dim %d: max |R·Rᵀ - I| = %.3g", n, worst)
		}
		t.Logf("dim %d: max |R·Rᵀ - I| = %.3g", n, worst)
	}
}

// The same secret gives the same matrix, bit for bit, and the same fingerprint.
func TestTransformDeterministic(t *testing.T) {
	t.Parallel()
	a := cachedTransform(t, secretA, dim)
	b, err := NewTransform(append([]byte(nil), secretA...), dim)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.m {
		if math.Float64bits(a.m[i]) != math.Float64bits(b.m[i]) {
			t.Fatalf("entry %d differs: %v vs %v", i, a.m[i], b.m[i])
		}
	}
	if a.Fingerprint() != b.Fingerprint() || len(a.Fingerprint()) != 16 {
		t.Errorf("fingerprints %q and %q", a.Fingerprint(), b.Fingerprint())
	}
}

// The matrix and fingerprint of a fixed secret are pinned: any change to the derivation, or a platform that
// computed it differently (FMA fusion, another logarithm), fails here. Changing the derivation on purpose
// needs a new version label, since stored templates depend on it.
func TestTransformGolden(t *testing.T) {
	t.Parallel()
	tr := cachedTransform(t, secretA, dim)
	const (
		wantDigest = "8135d1eba8d3e6cceace52adfb6c702b3eaa9b96c1e0441fa177ffaa939e1c84"
		wantFP     = "58737bd8dac62179"
	)
	if got := matrixDigest(tr); got != wantDigest {
		t.Errorf("matrix digest %s, want %s", got, wantDigest)
	}
	if got := tr.Fingerprint(); got != wantFP {
		t.Errorf("fingerprint %s, want %s", got, wantFP)
	}
	small := cachedTransform(t, []byte("sixteen bytes!!!"), 2)
	t.Logf("dim 2 matrix: %v", small.m)
}

func TestTransformDifferentSecrets(t *testing.T) {
	t.Parallel()
	a := cachedTransform(t, secretA, dim)
	b := cachedTransform(t, secretB, dim)
	flipped := append([]byte(nil), secretA...)
	flipped[len(flipped)-1] ^= 1
	c := cachedTransform(t, flipped, dim)
	for _, o := range []*Transform{b, c} {
		// Entries of two independent Haar matrices are uncorrelated: Σ a_ij·b_ij = tr(A·Bᵀ) is about N(0, 1),
		// while for equal matrices it is dim.
		if s := dot(a.m, o.m); math.Abs(s) > 6 {
			t.Errorf("tr(A·Bᵀ) = %.2f: matrices are related", s)
		}
		if a.Fingerprint() == o.Fingerprint() {
			t.Errorf("equal fingerprints %s", a.Fingerprint())
		}
	}
	if d := cachedTransform(t, secretA, 64); d.Fingerprint() == a.Fingerprint() {
		t.Error("fingerprint does not depend on the dimension")
	}
	if strings.Contains(a.Fingerprint(), hex.EncodeToString(secretA)[:8]) {
		t.Error("fingerprint shows the secret")
	}
}

// For 1,000 random unit pairs, spread over all similarities, |⟨Ra,Rb⟩ − ⟨a,b⟩| < 1e-5; outputs are unit
// length; ApplyInverse undoes Apply; re-transforming A → B equals transforming under B.
func TestTransformPreservesSimilarity(t *testing.T) {
	t.Parallel()
	tr := cachedTransform(t, secretA, dim)
	other := cachedTransform(t, secretB, dim)
	r := mrand.New(mrand.NewPCG(11, 12))
	worst, worstBack, worstRe := 0.0, 0.0, 0.0
	for i := 0; i < 1000; i++ {
		a := randUnit(r, dim)
		b := noisy(r, a, 2*float64(i)/1000-1) // similarities from -1 to 1
		ra, rb := tr.Apply(a), tr.Apply(b)
		worst = math.Max(worst, math.Abs(sim(ra, rb)-sim(a, b)))
		if n := sim(ra, ra); math.Abs(n-1) > 1e-6 {
			t.Fatalf("|Ra|² = %v", n)
		}
		if i%10 == 0 {
			back := tr.ApplyInverse(ra)
			worstBack = math.Max(worstBack, 1-sim(back, a))
			re := other.Apply(tr.ApplyInverse(ra))
			worstRe = math.Max(worstRe, 1-sim(re, other.Apply(a)))
		}
	}
	t.Logf("max |⟨Ra,Rb⟩ − ⟨a,b⟩| = %.2e; ApplyInverse: max 1−⟨R⁻¹Ra,a⟩ = %.2e; re-transform: %.2e", worst, worstBack, worstRe)
	if worst >= 1e-5 {
		t.Errorf("max |⟨Ra,Rb⟩ − ⟨a,b⟩| = %.2e, want < 1e-5", worst)
	}
	if worstBack > 1e-6 || worstRe > 1e-6 {
		t.Errorf("inverse / re-transform off by %.2e / %.2e", worstBack, worstRe)
	}
}

// Unlinkability: 2,000 "identities", each with two captures (similarity about 0.7, like two photos of one face).
// Across deployments (capture 1 under secret A, capture 2 under secret B) and between plain and transformed
// templates, the genuine similarities are distributed like those of random pairs, and nearest-neighbour linking
// does no better than chance (linking is tried on the first 300); within deployment A they are unchanged and
// linking finds everyone.
func TestUnlinkability(t *testing.T) {
	t.Parallel()
	const people, link = 2000, 300
	trA := cachedTransform(t, secretA, dim)
	trB := cachedTransform(t, secretB, dim)
	r := mrand.New(mrand.NewPCG(21, 22))
	c1 := make([][]float32, people) // capture 1, plain
	c2 := make([][]float32, people) // capture 2, plain
	a1 := make([][]float32, people) // capture 1 under A
	b2 := make([][]float32, people) // capture 2 under B
	a2 := make([][]float32, people) // capture 2 under A
	for i := range c1 {
		c1[i] = randUnit(r, dim)
		c2[i] = noisy(r, c1[i], 0.7)
		a1[i], a2[i], b2[i] = trA.Apply(c1[i]), trA.Apply(c2[i]), trB.Apply(c2[i])
	}
	type stats struct{ mean, sd, maxAbs float64 }
	measure := func(n int, f func(i int) float64) stats {
		var s, sq, m float64
		for i := 0; i < n; i++ {
			v := f(i)
			s += v
			sq += v * v
			m = math.Max(m, math.Abs(v))
		}
		mean := s / float64(n)
		return stats{mean, math.Sqrt(sq/float64(n) - mean*mean), m}
	}
	impostor := measure(people, func(i int) float64 { return sim(c1[i], c2[(i+1)%people]) })
	genuine := measure(people, func(i int) float64 { return sim(c1[i], c2[i]) })
	same := measure(people, func(i int) float64 { return sim(a1[i], a2[i]) - sim(c1[i], c2[i]) })
	cross := measure(people, func(i int) float64 { return sim(a1[i], b2[i]) })
	leaked := measure(people, func(i int) float64 { return sim(c1[i], b2[i]) })
	t.Logf("genuine plain %+v; random pairs %+v; genuine within A − plain %+v", genuine, impostor, same)
	t.Logf("genuine across A/B %+v; genuine plain vs B %+v (random 512-d unit pairs: sd 1/√512 = %.4f)",
		cross, leaked, 1/math.Sqrt(dim))
	if same.maxAbs >= 1e-5 {
		t.Errorf("within one deployment genuine similarity changed by up to %.2e", same.maxAbs)
	}
	for name, s := range map[string]stats{"across deployments": cross, "plain vs transformed": leaked} {
		if math.Abs(s.mean) > 0.005 || s.maxAbs >= 0.25 || math.Abs(s.sd-impostor.sd) > 0.15*impostor.sd {
			t.Errorf("%s: genuine similarities %+v, want them like random pairs %+v (mean ≈ 0, max |s| < 0.25)", name, s, impostor)
		}
	}

	// Linking by nearest neighbour: within A it finds everyone, across A/B only chance hits.
	hits := func(x, y [][]float32) int {
		n := 0
		for i := 0; i < link; i++ {
			best, bj := math.Inf(-1), -1
			for j := 0; j < link; j++ {
				if s := sim(x[i], y[j]); s > best {
					best, bj = s, j
				}
			}
			if bj == i {
				n++
			}
		}
		return n
	}
	in, across := hits(a1, a2), hits(a1, b2)
	t.Logf("nearest-neighbour linking of %d people: within A %d, across A/B %d (chance: 1)", link, in, across)
	if in != link || across > 6 {
		t.Errorf("linking: within A %d/%d, across A/B %d/%d", in, link, across, link)
	}
}

func TestApplyEdgeCases(t *testing.T) {
	t.Parallel()
	var id *Transform
	v := []float32{0.6, 0.8}
	if got := id.Apply(v); len(got) != 2 || got[0] != 0.6 || &got[0] == &v[0] {
		t.Errorf("nil transform Apply = %v, want a copy", got)
	}
	if id.Fingerprint() != "" || id.Dim() != 0 || len(id.ApplyInverse(v)) != 2 {
		t.Error("nil transform accessors")
	}
	tr := cachedTransform(t, []byte("sixteen bytes!!!"), 2)
	if tr.Dim() != 2 {
		t.Errorf("Dim %d", tr.Dim())
	}
	if z := tr.Apply([]float32{0, 0}); z[0] != 0 || z[1] != 0 {
		t.Errorf("zero vector → %v", z)
	}
	if u := tr.Apply([]float32{3, 4}); math.Abs(sim(u, u)-1) > 1e-6 {
		t.Errorf("non-unit input not renormalised: %v", u)
	}
	defer func() {
		if recover() == nil {
			t.Error("Apply with the wrong length did not panic")
		}
	}()
	tr.Apply(make([]float32, 3))
}

// detLog agrees with math.Log to 1 ulp over the normal numbers in (0, 1) (NewTransform only takes logarithms of
// numbers >= 2^-50).
func TestDetLog(t *testing.T) {
	t.Parallel()
	r := mrand.New(mrand.NewPCG(31, 32))
	xs := []float64{1e-300, 2.0 / (1 << 50), 0.5, math.Sqrt2 / 2, math.Nextafter(1, 0)}
	for i := 0; i < 100000; i++ {
		xs = append(xs, r.Float64()*math.Pow(2, -float64(r.IntN(60))))
	}
	for _, x := range xs {
		if x <= 0 || x >= 1 {
			continue
		}
		got, want := detLog(x), math.Log(x)
		if ulps := math.Abs(got-want) / (math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)); ulps > 1 {
			t.Fatalf("detLog(%v) = %v, math.Log %v (%.1f ulp)", x, got, want, ulps)
		}
	}
}

// The Gaussian stream has mean 0 and variance 1, and is reproducible.
func TestGaussians(t *testing.T) {
	t.Parallel()
	const n = 200000
	g := newGaussians(derive(secretA, "seed", dim))
	h := newGaussians(derive(secretA, "seed", dim))
	var s, sq, q4 float64
	for i := 0; i < n; i++ {
		x := g.next()
		if y := h.next(); x != y {
			t.Fatalf("streams diverge at %d", i)
		}
		s += x
		sq += x * x
		q4 += x * x * x * x
	}
	mean, variance, kurt := s/n, sq/n, q4/n
	t.Logf("mean %.4f variance %.4f fourth moment %.3f", mean, variance, kurt)
	if math.Abs(mean) > 0.01 || math.Abs(variance-1) > 0.015 || math.Abs(kurt-3) > 0.1 {
		t.Errorf("mean %.4f variance %.4f fourth moment %.3f, want 0, 1, 3", mean, variance, kurt)
	}
}

func TestSecrets(t *testing.T) {
	a, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateSecret()
	if a == b {
		t.Fatal("two generated secrets are equal")
	}
	sa, err := ParseSecret(" " + a + "\n")
	if err != nil || len(sa) != 32 {
		t.Fatalf("ParseSecret(generated): %d bytes, %v", len(sa), err)
	}
	if _, err := NewTransform(sa, 8); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"": "empty", "   ": "empty", "@@@": "not valid base64", "c2hvcnQ=": "5 bytes, want at least 16"} {
		if _, err := ParseSecret(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSecret(%q): %v, want %q", in, err, want)
		}
	}

	const env = "FACEGATE_TEST_PROTECT_SECRET"
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte(a+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(env, b)
	if s, err := LoadSecret(path, env); err != nil || string(s) != string(sa) {
		t.Errorf("LoadSecret(file): %v", err)
	}
	if s, err := LoadSecret("", env); err != nil || len(s) != 32 || string(s) == string(sa) {
		t.Errorf("LoadSecret(env): %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSecret(path, env); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644 secret file: %v", err)
	}
	t.Setenv(env, "")
	if s, err := LoadSecret("", env); s != nil || err != nil {
		t.Errorf("neither set: %v, %v", s, err)
	}
	t.Setenv(env, "c2hvcnQ=")
	if _, err := LoadSecret("", env); err == nil || !strings.Contains(err.Error(), "$"+env) {
		t.Errorf("short env secret: %v", err)
	}
}

func BenchmarkNewTransform512(b *testing.B) {
	for b.Loop() {
		if _, err := NewTransform(secretA, dim); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApply512(b *testing.B) {
	tr := cachedTransform(b, secretA, dim)
	v := randUnit(mrand.New(mrand.NewPCG(1, 1)), dim)
	for b.Loop() {
		tr.Apply(v)
	}
}

func BenchmarkSealOpenTemplate(b *testing.B) {
	k := mustRing(b, fixedKey("k1", 1))
	pt := templateBytes(mrand.New(mrand.NewPCG(1, 1)), dim)
	aad := []byte("face:1")
	for b.Loop() {
		s, err := k.Seal(pt, aad)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := k.Open(s, aad); err != nil {
			b.Fatal(err)
		}
	}
}
