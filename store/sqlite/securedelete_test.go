package sqlite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/facegate/facegate"
)

// filesContaining lists the files in dir whose raw bytes contain any of the needles.
func filesContaining(t *testing.T, dir string, needles ...[]byte) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				out = append(out, e.Name())
				break
			}
		}
	}
	return out
}

func TestSecureDelete(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		delete func(db *DB, g *facegate.Gallery, s *facegate.Subject, f *facegate.FaceRecord) error
	}{
		{"subject", func(db *DB, g *facegate.Gallery, s *facegate.Subject, _ *facegate.FaceRecord) error {
			return db.DeleteSubject(ctx, g.ID, s.ID)
		}},
		{"gallery", func(db *DB, g *facegate.Gallery, _ *facegate.Subject, _ *facegate.FaceRecord) error {
			return db.DeleteGallery(ctx, g.ID)
		}},
		{"face", func(db *DB, g *facegate.Gallery, s *facegate.Subject, f *facegate.FaceRecord) error {
			return db.DeleteFace(ctx, g.ID, s.ID, f.ID)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, dir := openTest(t)
			var nonce [8]byte
			_, _ = rand.Read(nonce[:])
			marker := []byte("FACEGATE-ERASE-ME-" + hex.EncodeToString(nonce[:]) + "-")
			// A thumbnail big enough to spill into overflow pages, with the marker all through it.
			thumb := bytes.Repeat(marker, 8192/len(marker)+1)
			// A template of distinctive values: its encoding must vanish too.
			tmpl := make([]float32, facegate.TemplateDim)
			for i := range tmpl {
				tmpl[i] = 1234.5678 + float32(i)*0.001 + float32(nonce[i%8])
			}
			needle := encodeTemplate(tmpl[100:116])
			nameMarker := "Erase Me " + hex.EncodeToString(nonce[:])

			g := mustGallery(t, db, "g")
			keep := mustGallery(t, db, "keep")
			// Neighbours before and after in the same tables and pages, which must survive.
			var neighbours []*facegate.FaceRecord
			for i := range 3 {
				s := mustSubject(t, db, keep.ID)
				neighbours = append(neighbours, mustFace(t, db, keep.ID, s.ID, uint64(i)))
			}
			s := &facegate.Subject{GalleryID: g.ID, DisplayName: nameMarker, Metadata: map[string]string{"note": nameMarker}}
			f := &facegate.FaceRecord{Template: tmpl, Thumbnail: thumb}
			if err := db.CreateSubjectWithFaces(ctx, s, []*facegate.FaceRecord{f}); err != nil {
				t.Fatal(err)
			}
			for i := 3; i < 6; i++ {
				s := mustSubject(t, db, keep.ID)
				neighbours = append(neighbours, mustFace(t, db, keep.ID, s.ID, uint64(i)))
			}

			// The scan finds the data while it is stored: in the WAL, then in the database file.
			needles := [][]byte{marker, needle}
			if c.name != "face" {
				needles = append(needles, []byte(nameMarker))
			}
			if got := filesContaining(t, dir, needles...); len(got) == 0 {
				t.Fatal("the markers are not found before the delete: the scan is broken")
			}
			if err := db.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if got := filesContaining(t, dir, needles...); len(got) != 1 || got[0] != FileName {
				t.Fatalf("after a checkpoint the markers are in %v, want only %s", got, FileName)
			}

			if err := c.delete(db, g, s, f); err != nil {
				t.Fatal(err)
			}
			if err := db.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
			if got := filesContaining(t, dir, needles...); len(got) != 0 {
				t.Errorf("deleted data still readable in %v", got)
			}
			for _, n := range neighbours {
				got, err := db.Face(ctx, n.GalleryID, n.SubjectID, n.ID)
				if err != nil {
					t.Fatal(err)
				}
				equalFace(t, got, n)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if got := filesContaining(t, dir, needles...); len(got) != 0 {
				t.Errorf("deleted data readable in %v after Close", got)
			}
			db2, err := Open(dir) // for openTest's cleanup Close
			if err != nil {
				t.Fatal(err)
			}
			db.write, db.read = db2.write, db2.read
		})
	}
}
