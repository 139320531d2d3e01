package protect

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

const (
	// MinSecretLen is the shortest transform secret NewTransform accepts, in bytes. GenerateSecret makes 32.
	MinSecretLen = 16
	// MaxTransformDim bounds NewTransform's dim (the matrix takes 8·dim² bytes and dim³ time to build).
	MaxTransformDim = 4096

	transformLabel   = "facegate/protect/transform/v1/"
	secretRandomSize = 32
)

// Transform is a secret orthogonal rotation of R^dim, derived deterministically from a secret (see
// NewTransform). It is immutable and safe for concurrent use. The nil *Transform is the identity: Apply returns
// a copy of its input and Fingerprint is "".
type Transform struct {
	dim int
	m   []float64 // row-major dim×dim, orthogonal
	fp  string
}

// NewTransform derives a dim×dim orthogonal matrix from secret (at least MinSecretLen bytes; use GenerateSecret).
//
// Derivation (version 1): seed = HMAC-SHA256(secret, "facegate/protect/transform/v1/seed" ‖ dim as 4 bytes
// big-endian); a byte stream SHA-256(seed ‖ counter) for counter = 0, 1, … as 8-byte big-endian; from it, dim²
// standard Gaussians by Marsaglia's polar method (row by row), with 26-bit uniforms so that the acceptance test
// is exact arithmetic; Householder QR of that matrix in float64; Q with each column multiplied by the sign of
// R's diagonal entry, which makes Q Haar-distributed (uniform over the orthogonal group).
//
// Same secret and dim → same matrix, bit for bit, on every platform and Go version: the stream is SHA-256, the
// logarithm is computed here rather than by math.Log (which has platform-specific assembly), and every
// multiply-add is written with an explicit float64 conversion so the compiler cannot fuse it into an FMA (which
// arm64, ppc64, s390x and GOAMD64=v3 builds otherwise may). Only IEEE-754 basic operations and math.Sqrt,
// all exactly rounded, are involved, so there is no platform-dependent rounding at all; TestTransformGolden
// pins the result.
func NewTransform(secret []byte, dim int) (*Transform, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("protect: transform secret is %d bytes, want at least %d (GenerateSecret makes %d random bytes)",
			len(secret), MinSecretLen, secretRandomSize)
	}
	if dim < 2 || dim > MaxTransformDim {
		return nil, fmt.Errorf("protect: transform dimension %d out of range 2..%d", dim, MaxTransformDim)
	}
	seed := derive(secret, "seed", dim)
	g := newGaussians(seed)
	n := dim
	// a holds the Gaussian matrix column-major: a[j*n+i] is row i, column j, and entry (i, j) is the
	// (i*n+j)-th Gaussian of the stream.
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			a[j*n+i] = g.next()
		}
	}
	m := orthogonalFactor(a, n)
	return &Transform{dim: n, m: m, fp: hex.EncodeToString(derive(secret, "fingerprint", dim)[:8])}, nil
}

// derive is HMAC-SHA256(secret, label prefix ‖ what ‖ dim as 4 bytes big-endian).
func derive(secret []byte, what string, dim int) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(transformLabel + what))
	var d [4]byte
	binary.BigEndian.PutUint32(d[:], uint32(dim))
	h.Write(d[:])
	return h.Sum(nil)
}

// gaussians is a deterministic stream of standard normal deviates keyed by a 32-byte seed.
type gaussians struct {
	seed    [32]byte
	counter uint64
	block   [32]byte
	used    int // uint64 words of block consumed
	spare   float64
	have    bool
}

func newGaussians(seed []byte) *gaussians {
	g := &gaussians{used: 4}
	copy(g.seed[:], seed)
	return g
}

func (g *gaussians) uint64() uint64 {
	if g.used == 4 {
		var in [40]byte
		copy(in[:], g.seed[:])
		binary.BigEndian.PutUint64(in[32:], g.counter)
		g.counter++
		g.block = sha256.Sum256(in[:])
		g.used = 0
	}
	x := binary.BigEndian.Uint64(g.block[g.used*8:])
	g.used++
	return x
}

// next returns the next standard normal deviate (Marsaglia's polar method). u and v are multiples of 2^-25 in
// [-1, 1), so u², v² and u²+v² are exact in float64 and the acceptance test is the same on every machine.
func (g *gaussians) next() float64 {
	if g.have {
		g.have = false
		return g.spare
	}
	const half = 1 << 25
	for {
		x := g.uint64()
		u := float64(int64(x>>38)-half) / half
		v := float64(int64((x>>12)&(1<<26-1))-half) / half
		s := u*u + v*v // exact, so fusion cannot change it
		if s >= 1 || s == 0 {
			continue
		}
		f := math.Sqrt(float64(-2*detLog(s)) / s)
		g.spare, g.have = v*f, true
		return u * f
	}
}

// detLog is the natural logarithm for 0 < x < 1: the algorithm of math.Log's portable Go version (FreeBSD's
// e_log.c, error < 1 ulp) with every product explicitly rounded, so the result is the same on every platform.
func detLog(x float64) float64 {
	const (
		ln2Hi = 6.93147180369123816490e-01 /* 3fe62e42 fee00000 */
		ln2Lo = 1.90821492927058770002e-10 /* 3dea39ef 35793c76 */
		l1    = 6.666666666666735130e-01   /* 3FE55555 55555593 */
		l2    = 3.999999999940941908e-01   /* 3FD99999 9997FA04 */
		l3    = 2.857142874366239149e-01   /* 3FD24924 94229359 */
		l4    = 2.222219843214978396e-01   /* 3FCC71C5 1D8E78AF */
		l5    = 1.818357216161805012e-01   /* 3FC74664 96CB03DE */
		l6    = 1.531383769920937332e-01   /* 3FC39A09 D078C69F */
		l7    = 1.479819860511658591e-01   /* 3FC2F112 DF3E5244 */
	)
	f1, ki := math.Frexp(x)
	if f1 < math.Sqrt2/2 {
		f1 *= 2
		ki--
	}
	f := f1 - 1
	k := float64(ki)
	s := f / (2 + f)
	s2 := float64(s * s)
	s4 := float64(s2 * s2)
	p := l5 + float64(s4*l7)
	p = l3 + float64(s4*p)
	p = l1 + float64(s4*p)
	t1 := float64(s2 * p)
	q := l4 + float64(s4*l6)
	q = l2 + float64(s4*q)
	t2 := float64(s4 * q)
	r := t1 + t2
	hfsq := float64(float64(0.5*f) * f)
	inner := float64(s*(hfsq+r)) + float64(k*ln2Lo)
	return float64(k*ln2Hi) - ((hfsq - inner) - f)
}

// dot is Σ x[i]·y[i] with every product rounded (no FMA), summed in a fixed order: four running sums over the
// indices ≡ 0, 1, 2, 3 (mod 4), then (s0+s1)+(s2+s3). Four independent sums run about three times faster than
// one; the order is part of the derivation (TestTransformGolden pins it).
//
// dot and axpy only ever read the immutable matrix and slices private to their caller (Apply copies its input
// first), so they are exempt from race-detector instrumentation, which would otherwise make them 25 times slower
// under -race.
//
//go:norace
func dot(x, y []float64) float64 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		a, b := (*[4]float64)(x[i:]), (*[4]float64)(y[i:])
		s0 += float64(a[0] * b[0])
		s1 += float64(a[1] * b[1])
		s2 += float64(a[2] * b[2])
		s3 += float64(a[3] * b[3])
	}
	for ; i < len(x); i++ {
		s0 += float64(x[i] * y[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy sets y -= c·x, with every product rounded (no FMA).
//
//go:norace
func axpy(c float64, x, y []float64) {
	y = y[:len(x)]
	for i, xi := range x {
		y[i] -= float64(c * xi)
	}
}

// orthogonalFactor returns, row-major, the orthogonal factor Q of the QR decomposition of the n×n column-major
// matrix a (which it overwrites), normalised so that R has a positive diagonal (Householder reflections).
func orthogonalFactor(a []float64, n int) []float64 {
	vs := make([][]float64, n) // the Householder vectors, v_k of length n-k
	betas := make([]float64, n)
	signs := make([]float64, n) // sign of R's diagonal
	for k := 0; k < n; k++ {
		x := a[k*n+k : (k+1)*n]
		norm := math.Sqrt(dot(x, x))
		signs[k] = 1
		if norm == 0 {
			continue // H_k = I (beta 0); probability zero for a Gaussian matrix
		}
		alpha := -norm // R_kk = alpha; v = x - alpha·e1, with no cancellation in v[0]
		if x[0] < 0 {
			alpha = norm
		}
		if alpha < 0 {
			signs[k] = -1
		}
		v := append([]float64(nil), x...)
		v[0] -= alpha
		betas[k] = 2 / dot(v, v)
		vs[k] = v
		for j := k + 1; j < n; j++ {
			y := a[j*n+k : (j+1)*n]
			axpy(float64(betas[k]*dot(v, y)), v, y)
		}
	}
	// Q = H_0·H_1·…·H_{n-1}: apply the reflections to the identity, last first. Columns j < k of the partial
	// product are still e_j and H_k leaves them alone.
	q := make([]float64, n*n) // column-major
	for i := 0; i < n; i++ {
		q[i*n+i] = 1
	}
	for k := n - 1; k >= 0; k-- {
		if betas[k] == 0 {
			continue
		}
		v := vs[k]
		for j := k; j < n; j++ {
			y := q[j*n+k : (j+1)*n]
			axpy(float64(betas[k]*dot(v, y)), v, y)
		}
	}
	m := make([]float64, n*n)
	for j := 0; j < n; j++ {
		col := q[j*n : (j+1)*n]
		for i, x := range col {
			m[i*n+j] = x * signs[j]
		}
	}
	return m
}

// Dim is the dimension the transform acts on (0 for the nil identity).
func (t *Transform) Dim() int {
	if t == nil {
		return 0
	}
	return t.dim
}

// Fingerprint identifies the transform without revealing it: 16 hex digits of HMAC-SHA256(secret,
// "facegate/protect/transform/v1/fingerprint" ‖ dim), so stored templates can record which transform they are
// under. It changes with the secret, the dimension and the derivation's version. The nil identity gives "".
func (t *Transform) Fingerprint() string {
	if t == nil {
		return ""
	}
	return t.fp
}

// Apply returns R·v as a new slice, computed in float64 and renormalised to unit length (absorbing rounding; a
// zero vector stays zero). It panics when len(v) != Dim(), like an out-of-range index: callers check template
// lengths when decoding them. The nil identity returns a copy of v.
func (t *Transform) Apply(v []float32) []float32 {
	if t == nil {
		return append([]float32(nil), v...)
	}
	n := t.check(v)
	x := widen(v)
	y := make([]float64, n)
	for i := range y {
		y[i] = dot(t.m[i*n:(i+1)*n], x)
	}
	return unit(y)
}

// ApplyInverse returns Rᵀ·v (R⁻¹·v), renormalised like Apply: it undoes Apply up to rounding. Moving a stored
// template from transform A to transform B without re-enrolment is B.Apply(A.ApplyInverse(v)).
func (t *Transform) ApplyInverse(v []float32) []float32 {
	if t == nil {
		return append([]float32(nil), v...)
	}
	n := t.check(v)
	y := make([]float64, n)
	for i, xi := range widen(v) {
		axpy(-xi, t.m[i*n:(i+1)*n], y) // y += xi·row i
	}
	return unit(y)
}

func (t *Transform) check(v []float32) int {
	if len(v) != t.dim {
		panic(fmt.Sprintf("protect: Transform of dimension %d applied to a vector of length %d", t.dim, len(v)))
	}
	return t.dim
}

func widen(v []float32) []float64 {
	x := make([]float64, len(v))
	for i, f := range v {
		x[i] = float64(f)
	}
	return x
}

func unit(y []float64) []float32 {
	out := make([]float32, len(y))
	norm := math.Sqrt(dot(y, y))
	if norm == 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		for i, x := range y {
			out[i] = float32(x)
		}
		return out
	}
	for i, x := range y {
		out[i] = float32(x / norm)
	}
	return out
}

// GenerateSecret returns a new transform secret: 32 bytes from crypto/rand, standard base64 (the text form
// ParseSecret and LoadSecret read).
func GenerateSecret() (string, error) {
	b := make([]byte, secretRandomSize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("protect: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret decodes a transform secret from its text form: base64 (standard or URL-safe, padded or not,
// surrounding white space ignored) of at least MinSecretLen bytes. The error never echoes the secret.
func ParseSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("protect: transform secret is empty")
	}
	b, err := decodeBase64(s)
	if err != nil {
		return nil, errors.New("protect: transform secret is not valid base64")
	}
	if len(b) < MinSecretLen {
		return nil, fmt.Errorf("protect: transform secret is %d bytes, want at least %d", len(b), MinSecretLen)
	}
	return b, nil
}

// LoadSecret reads a transform secret (ParseSecret's text form) from the file at path, which like a key file
// must not be accessible to group or others, or, when path is "", from the environment variable env. It returns
// (nil, nil) when neither is set: no transform.
func LoadSecret(path, env string) ([]byte, error) {
	if path != "" {
		data, err := readSecretFile(path)
		if err != nil {
			return nil, err
		}
		b, err := ParseSecret(string(data))
		if err != nil {
			return nil, fmt.Errorf("secret file %s: %w", path, err)
		}
		return b, nil
	}
	if env == "" || strings.TrimSpace(os.Getenv(env)) == "" {
		return nil, nil
	}
	b, err := ParseSecret(os.Getenv(env))
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", env, err)
	}
	return b, nil
}
