package onnx_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate/internal/onnx"
	"github.com/facegate/facegate/internal/testutil/testenv"
)

// TestInitSameLibraryAnySpelling loads the real runtime once, then initialises again through a relative path and
// a symbolic link (both accepted) and through another file (refused: one library per process). The engine's
// internal tests and its shared test engine name the library in different ways in one test binary.
func TestInitSameLibraryAnySpelling(t *testing.T) {
	lib := testenv.ModelPack(t).Runtime
	abs, err := filepath.Abs(lib)
	if err != nil {
		t.Fatal(err)
	}
	if err := onnx.Init(abs); err != nil {
		t.Fatalf("Init(%s): %v", abs, err)
	}
	if onnx.Version() == "" {
		t.Error("no version after Init")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.Symlink(abs, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{rel, "./" + rel, link} {
		if err := onnx.Init(p); err != nil {
			t.Errorf("Init(%s) after Init(%s): %v", p, abs, err)
		}
	}
	other := filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	if err := os.WriteFile(other, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := onnx.Init(other); err == nil || !strings.Contains(err.Error(), "cannot load another library") {
		t.Errorf("Init(%s) with another library loaded: %v, want a refusal", other, err)
	}
}
