package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles creates the named files (a nil content makes a folder) under dir.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		var err error
		if data == nil {
			err = os.MkdirAll(p, 0o755)
		} else {
			err = os.WriteFile(p, data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestPlainFileErrors: a bad file is named once with its problem in plain words, without package prefixes.
func TestPlainFileErrors(t *testing.T) {
	needModels(t)
	dir := t.TempDir()
	good, err := os.ReadFile(npmImage(t, "sample1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{"README.txt": []byte("read me\n"), "cut.jpg": good[:len(good)/3]})
	readme, cut, missing := filepath.Join(dir, "README.txt"), filepath.Join(dir, "cut.jpg"), filepath.Join(dir, "missing.jpg")
	tests := []struct {
		args []string
		want string // a whole line of stderr
	}{
		{[]string{"detect", readme}, "facegate detect: " + readme + ": not an image"},
		{[]string{"detect", cut}, "facegate detect: " + cut + ": the JPEG image is truncated"},
		{[]string{"detect", missing}, "facegate detect: " + missing + ": no such file"},
		{[]string{"compare", readme, cut}, "facegate compare: " + readme + ": not an image"},
		{[]string{"compare", npmImage(t, "sample1.jpg"), cut}, "facegate compare: " + cut + ": the JPEG image is truncated"},
	}
	for _, tc := range tests {
		code, _, errs := run(t, tc.args...)
		if code != ExitError || !containsLine(errs, tc.want) {
			t.Errorf("facegate %s: exit %d, stderr %q; want exit 1 and the line %q", strings.Join(tc.args, " "), code, errs, tc.want)
		}
		for _, bad := range []string{"imgio", "open ", "stat ", "%!"} {
			if strings.Contains(errs, bad) {
				t.Errorf("facegate %s: stderr %q contains %q", strings.Join(tc.args, " "), errs, bad)
			}
		}
	}
}

func containsLine(s, line string) bool {
	for l := range strings.SplitSeq(s, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestDetectFolder: a folder stands for the image files directly inside it, in name order; other files are
// skipped with one line each, subfolders are not read, and only images that fail make the exit status 1.
func TestDetectFolder(t *testing.T) {
	needModels(t)
	good, err := os.ReadFile(npmImage(t, "sample1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	six, err := os.ReadFile(npmImage(t, "sample6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"b.jpg": good, "a.JPG": six, "README.txt": []byte("read me\n"), ".hidden.jpg": []byte("x"),
		"sub": nil,
	})
	writeFiles(t, dir, map[string][]byte{"sub/c.jpg": good})

	code, out, errs := run(t, "detect", dir)
	if code != ExitOK {
		t.Fatalf("detect on a folder: exit %d, stderr %q", code, errs)
	}
	if want := "facegate detect: " + filepath.Join(dir, "README.txt") + ": not an image file (skipped)\n"; errs != want {
		t.Errorf("stderr %q, want exactly %q", errs, want)
	}
	a, b := strings.Index(out, filepath.Join(dir, "a.JPG")), strings.Index(out, filepath.Join(dir, "b.jpg"))
	if a < 0 || b < 0 || a > b || strings.Contains(out, "c.jpg") || strings.Contains(out, "hidden") {
		t.Errorf("table should list a.JPG then b.jpg, and neither the subfolder nor the hidden file:\n%s", out)
	}

	// JSON: an array, even for a folder of one image.
	one := t.TempDir()
	writeFiles(t, one, map[string][]byte{"only.jpg": good})
	code, out, errs = run(t, "detect", "--json", one)
	var results []imageResult
	if err := json.Unmarshal([]byte(out), &results); code != ExitOK || err != nil || len(results) != 1 || len(results[0].Faces) == 0 {
		t.Errorf("detect --json on a folder of one image: exit %d, %v, %d results; stderr %q", code, err, len(results), errs)
	}

	// A damaged image in the folder, and an empty folder, fail the run; each is named once.
	writeFiles(t, dir, map[string][]byte{"c.jpg": good[:len(good)/3]})
	empty := t.TempDir()
	code, _, errs = run(t, "detect", dir, empty)
	for _, want := range []string{
		"facegate detect: " + filepath.Join(dir, "c.jpg") + ": the JPEG image is truncated",
		"facegate detect: " + empty + ": no image files in the folder",
		"facegate detect: 2 of 4 images could not be analysed",
	} {
		if !containsLine(errs, want) {
			t.Errorf("stderr lacks the line %q:\n%s", want, errs)
		}
	}
	if code != ExitError {
		t.Errorf("a damaged image in the folder: exit %d, want %d", code, ExitError)
	}
}
