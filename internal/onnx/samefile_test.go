package onnx

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSameFile(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib", "libonnxruntime.so.1")
	other := filepath.Join(dir, "other", "libonnxruntime.so.1")
	for _, p := range []string{lib, other} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(dir, "link.so")
	if err := os.Symlink(lib, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(dir, "hard.so")
	if err := os.Link(lib, hard); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(dir, "other"))
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{"same string", lib, lib, true},
		{"relative and absolute", "../lib/libonnxruntime.so.1", lib, true},
		{"unclean", filepath.Join(dir, "other", "..", "lib", ".", "libonnxruntime.so.1"), lib, true},
		{"symbolic link", link, lib, true},
		{"hard link", hard, "../lib/libonnxruntime.so.1", true},
		{"same name, another folder", "libonnxruntime.so.1", lib, false},
		{"another file", other, lib, false},
		{"missing file", filepath.Join(dir, "missing.so"), lib, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sameFile(tc.a, tc.b); got != tc.want {
				t.Errorf("sameFile(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
			if got := sameFile(tc.b, tc.a); got != tc.want {
				t.Errorf("sameFile(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
			}
		})
	}
}
