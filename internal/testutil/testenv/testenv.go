// Package testenv is the one place where a test finds out that something it needs outside the repository is
// missing: the model pack, the shared datasets, ffmpeg, chromium, node. Missing skips the test with a message
// that names what is missing and how to get it, except under CI=true, where it fails the test: in CI every
// prerequisite is installed, so a missing one is a broken setup, not a reason to pass quietly.
//
// Only tests import it. It imports nothing of facegate but the model pack locator, so every package's tests can
// use it, the engine's internal tests included (package testutil cannot serve those: it imports the engine).
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/facegate/facegate/internal/modelpack"
)

// CI reports whether the tests run in CI (CI=true), where a missing prerequisite fails the test.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing reports that a prerequisite of the test is absent: it skips the test, or fails it under CI=true. The
// message should name what is missing and the fix.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI=true: a missing prerequisite fails the test)", msg)
	}
	t.Skip(msg)
}

// Need calls Missing with "what: err" when err is not nil, and does nothing otherwise. what names the
// prerequisite and the fix, as in "model pack (run 'make deps')".
func Need(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		Missing(t, "%s unavailable: %v", what, err)
	}
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
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// ModelPack locates and verifies the model pack the way the facegate binary does (modelpack.Locate: the
// runtime library and models under .deps/ from 'make deps', or $FACEGATE_MODELS).
func ModelPack(t testing.TB) modelpack.Paths {
	t.Helper()
	p, err := modelpack.Locate("")
	Need(t, "model pack (run 'make deps')", err)
	return p
}

// DatasetsDir is where the shared datasets live, relative to the repository root.
const DatasetsDir = "../shared/datasets"

// Shared returns the path of rel under ../shared/datasets (beside the repository).
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(t), filepath.FromSlash(DatasetsDir), rel)
	_, err := os.Stat(p)
	Need(t, "shared dataset "+rel+" (the datasets live beside the repository in "+DatasetsDir+")", err)
	return p
}

// DepsFile returns the path of rel under the repository's .deps folder, which 'make deps' fills.
func DepsFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Root(t), ".deps", rel)
	_, err := os.Stat(p)
	Need(t, ".deps/"+rel+" (run 'make deps')", err)
	return p
}

// Command returns the path of an executable found in PATH; fix says how to install it.
func Command(t testing.TB, name, fix string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	Need(t, name+" ("+fix+")", err)
	return p
}

// FFmpeg returns the path of ffmpeg, which scripts/deps.sh installs with apt-get.
func FFmpeg(t testing.TB) string {
	t.Helper()
	return Command(t, "ffmpeg", "scripts/deps.sh installs Debian's ffmpeg with apt-get")
}

// Node returns the path of node.
func Node(t testing.TB) string {
	t.Helper()
	return Command(t, "node", "install Node.js; scripts/deps.sh needs it too")
}

// File checks that an absolute path exists; what names it and the fix.
func File(t testing.TB, path, what string) string {
	t.Helper()
	_, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	Need(t, what, err)
	return path
}

// MissingPart reports that a prerequisite of one part of the test is absent while the rest can run: it logs
// the message and the test goes on, or fails the test under CI=true.
func MissingPart(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI=true: a missing prerequisite fails the test)", msg)
	}
	t.Log(msg)
}
