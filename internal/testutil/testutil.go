// Package testutil holds what the tests of several packages share: one engine per test binary, and the paths
// of the bundled test photos and of the shared datasets, skipping the test with a clear message when they are
// absent. Only tests import it. (The engine's own tests cannot, since this package imports the engine.)
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
	"github.com/facegate/facegate/internal/modelpack"
)

var (
	engOnce sync.Once
	eng     *engine.Engine
	engErr  error
)

// Engine returns an engine shared by the whole test binary, skipping the test when the model pack is missing.
func Engine(t testing.TB) *engine.Engine {
	t.Helper()
	engOnce.Do(func() {
		paths, err := modelpack.Locate("")
		if err != nil {
			engErr = err
			return
		}
		eng, engErr = engine.New(engine.Config{RuntimePath: paths.Runtime, ModelsDir: paths.Models})
	})
	if engErr != nil {
		t.Skipf("model pack unavailable (run 'make deps'): %v", engErr)
	}
	return eng
}

// Root returns the repository root: the nearest folder above the working directory holding go.mod.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of rel under ../shared/datasets (beside the repository), skipping the test when it
// is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(t), "..", "shared", "datasets", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared dataset %s absent: %v", p, err)
	}
	return p
}

// ReadShared reads a file under ../shared/datasets, skipping the test when it is absent.
func ReadShared(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// NPMImage returns the path of one of the six group photos 'make deps' extracts from @vladmandic/face-api,
// skipping the test when it is missing.
func NPMImage(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), ".deps", "testimages", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("test image %s unavailable (run 'make deps'): %v", name, err)
	}
	return p
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
