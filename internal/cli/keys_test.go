package cli

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/protect"
	"github.com/facegate/facegate/store/sqlite"
)

// TestKeysRotateCLI: 'keys generate' makes a key line; 'keys rotate' encrypts the plaintext templates of an
// existing store in place; afterwards the store reads them only with the key.
func TestKeysRotateCLI(t *testing.T) {
	code, out, errs := run(t, "keys", "generate", "--id", "2026-11")
	if code != ExitOK || !strings.HasPrefix(out, "2026-11:") {
		t.Fatalf("generate: exit %d %q %q", code, out, errs)
	}
	keyFile := filepath.Join(t.TempDir(), "template.keys")
	if err := os.WriteFile(keyFile, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g := &facegate.Gallery{Name: "g", ConsentExempt: true, LegalBasis: "test"}
	if err := db.CreateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	sub := &facegate.Subject{GalleryID: g.ID}
	tmpl := testutil.UnitTemplate(rand.New(rand.NewPCG(1, 2)), facegate.TemplateDim)
	if err := db.CreateSubjectWithFaces(ctx, sub, []*facegate.FaceRecord{{Template: tmpl}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	code, out, errs = run(t, "keys", "rotate", "--data", dir, "--template-key", keyFile)
	if code != ExitOK || !strings.Contains(out, "1 templates re-encrypted") {
		t.Fatalf("rotate: exit %d %q %q", code, out, errs)
	}
	db, err = sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Faces(ctx, g.ID, sub.ID); !errors.Is(err, sqlite.ErrNoTemplateKey) {
		t.Fatalf("reading without the key after rotation: %v", err)
	}
	k, err := protect.LoadKeyring(keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetKeyring(k)
	faces, err := db.Faces(ctx, g.ID, sub.ID)
	if err != nil || len(faces) != 1 || faces[0].Template[7] != tmpl[7] {
		t.Fatalf("reading with the key: %v", err)
	}
	// Errors: no key at all; a key file others can read.
	if code, _, errs := run(t, "keys", "rotate", "--data", dir); code != ExitError || !strings.Contains(errs, "encrypted") {
		t.Fatalf("rotate without a key: exit %d %q", code, errs)
	}
	os.Chmod(keyFile, 0o644)
	if code, _, errs := run(t, "keys", "rotate", "--data", dir, "--template-key", keyFile); code != ExitError || !strings.Contains(errs, "chmod") {
		t.Fatalf("world-readable key file: exit %d %q", code, errs)
	}
}
