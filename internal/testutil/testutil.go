// Package testutil holds what the tests of several packages share: one engine per test binary, and the paths
// of the bundled test photos and of the shared datasets. What is missing is reported by package testenv: a skip
// with a clear message, or a failure under CI=true. Only tests import it. (The engine's internal tests use
// testenv directly, since this package imports the engine; its external tests, package engine_test, may use it.)
package testutil

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/testutil/testenv"
)

var (
	engOnce sync.Once
	eng     *engine.Engine
	engErr  error
)

// Engine returns an engine shared by the whole test binary. A missing model pack skips the test (fails it under
// CI=true; see package testenv).
func Engine(t testing.TB) *engine.Engine {
	t.Helper()
	paths := testenv.ModelPack(t)
	engOnce.Do(func() {
		eng, engErr = engine.New(engine.Config{RuntimePath: paths.Runtime, ModelsDir: paths.Models})
	})
	if engErr != nil {
		t.Fatalf("testutil: starting the engine on the located model pack: %v", engErr)
	}
	return eng
}

// Root returns the repository root: the nearest folder above the working directory holding go.mod.
func Root(t testing.TB) string {
	t.Helper()
	return testenv.Root(t)
}

// Shared returns the path of rel under ../shared/datasets (beside the repository); a missing dataset skips the
// test (fails it under CI=true).
func Shared(t testing.TB, rel string) string {
	t.Helper()
	return testenv.Shared(t, rel)
}

// ReadShared reads a file under ../shared/datasets, as Shared finds it.
func ReadShared(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// NPMImage returns the path of one of the six group photos 'make deps' extracts from @vladmandic/face-api; a
// missing one skips the test (fails it under CI=true).
func NPMImage(t testing.TB, name string) string {
	t.Helper()
	return testenv.DepsFile(t, filepath.Join("testimages", name))
}

// ReadNPMImage reads one of the bundled group photos.
func ReadNPMImage(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(NPMImage(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// UnitTemplate is a random unit vector of dim components (Gaussian, normalised): a synthetic template for
// galleries larger than the real photos at hand.
func UnitTemplate(r *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	var n float64
	for j := range v {
		v[j] = float32(r.NormFloat64())
		n += float64(v[j]) * float64(v[j])
	}
	for j := range v {
		v[j] /= float32(math.Sqrt(n))
	}
	return v
}

// MixTemplate is a unit vector whose similarity to the unit vector a is exactly cos: cos·a + sin·b', where b' is
// b made orthogonal to a and normalised (b is not changed). It makes look-alikes with known scores.
func MixTemplate(a, b []float32, cos float64) []float32 {
	var d float64
	for i := range a {
		d += float64(a[i]) * float64(b[i])
	}
	ortho := make([]float64, len(a))
	var no float64
	for i := range a {
		ortho[i] = float64(b[i]) - d*float64(a[i])
		no += ortho[i] * ortho[i]
	}
	sin := math.Sqrt(1 - cos*cos)
	mix := make([]float64, len(a))
	var n float64
	for i := range a {
		mix[i] = cos*float64(a[i]) + sin*ortho[i]/math.Sqrt(no)
		n += mix[i] * mix[i]
	}
	out := make([]float32, len(a))
	for i := range mix {
		out[i] = float32(mix[i] / math.Sqrt(n))
	}
	return out
}

// PrimaryFace decodes an image and returns its most prominent face with its template, failing the test when
// the image is unreadable or shows no face.
func PrimaryFace(t testing.TB, data []byte) facegate.Face {
	t.Helper()
	img, _, err := imgio.Decode(data, imgio.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	faces, err := Engine(t).Analyze(t.Context(), img, engine.Options{Embed: true, PrimaryOnly: true})
	if err != nil || len(faces) != 1 {
		t.Fatalf("want one face: %d faces, %v", len(faces), err)
	}
	return faces[0]
}
