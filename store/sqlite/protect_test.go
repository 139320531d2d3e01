package sqlite

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/protect"
)

func keyLine(t *testing.T, id string) string {
	t.Helper()
	line, err := protect.GenerateKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func keyring(t *testing.T, lines ...string) *protect.Keyring {
	t.Helper()
	k, err := protect.ParseKeyring(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func templateBytes(v []float32) []byte {
	var b []byte
	for _, x := range v[:16] {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// TestTemplatesEncryptedAtRest: with a keyring no template's bytes reach the files; without the key a sealed
// store's templates cannot be read; a plaintext store is sealed in place on first use with a key (SealStore), and rotation to a new key
// re-seals everything while the store stays usable.
func TestTemplatesEncryptedAtRest(t *testing.T) {
	db, dir := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	// A face written before encryption was switched on.
	legacy := face(g.ID, s.ID, 1)
	if err := db.AddFace(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	db.Checkpoint(ctx)
	if len(filesContaining(t, dir, templateBytes(legacy.Template))) == 0 {
		t.Fatal("the plaintext template is not in the file: the check cannot see templates")
	}
	l1, l2 := keyLine(t, "k1"), keyLine(t, "k2")
	k1 := keyring(t, l1)
	db.SetKeyring(k1)
	// The first use with a key (serve, keys rotate) seals the legacy row.
	if n, err := db.SealStore(ctx); err != nil || n != 1 || !db.Sealed() {
		t.Fatalf("sealing the store with its legacy row: %d %v", n, err)
	}
	if n, err := db.SealStore(ctx); err != nil || n != 0 {
		t.Fatalf("sealing a sealed store again: %d %v", n, err)
	}
	sealed := face(g.ID, s.ID, 2)
	thumb := []byte("\xff\xd8\xff\xe0 a thumbnail that must not reach the disk in clear")
	sealed.Thumbnail = thumb
	if err := db.AddFace(ctx, sealed); err != nil {
		t.Fatal(err)
	}
	alert := &facegate.Alert{GalleryID: g.ID, SubjectID: s.ID, Score: 0.5, Probe: template(3, facegate.TemplateDim)}
	if _, _, err := db.RecordSighting(ctx, alert, time.Minute); err != nil {
		t.Fatal(err)
	}
	db.Checkpoint(ctx)
	if len(filesContaining(t, dir, templateBytes(sealed.Template), templateBytes(alert.Probe), thumb[4:40])) != 0 {
		t.Fatal("a template or thumbnail written with the keyring is in the file in clear")
	}
	faces, err := db.Faces(ctx, g.ID, s.ID)
	if err != nil || len(faces) != 2 || faces[1].Template[0] != sealed.Template[0] || faces[0].Template[0] != legacy.Template[0] ||
		!bytes.Equal(faces[1].Thumbnail, thumb) {
		t.Fatalf("reading the sealed legacy row and a new one: %v", err)
	}
	if len(filesContaining(t, dir, templateBytes(legacy.Template))) != 0 {
		t.Fatal("the legacy template is still in clear after rotation")
	}
	// A new active key: everything is re-sealed under it, reading works throughout.
	k2 := keyring(t, l2, l1) // k2 active, k1 still opens
	db.SetKeyring(k2)
	if _, err := db.ReviewAlert(ctx, alert.ID, facegate.AlertRejected, "key_x", "", time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := db.RotateTemplates(ctx, 1, nil); err != nil || n != 4 { // two templates, a thumbnail and the negative
		t.Fatalf("rotation to k2: %d %v", n, err)
	}
	db.SetKeyring(keyring(t, l2)) // k1 retired
	if faces, err := db.Faces(ctx, g.ID, s.ID); err != nil || len(faces) != 2 {
		t.Fatalf("reading with k2 alone after rotation: %v", err)
	}
	if negs, err := db.Negatives(ctx, g.ID, s.ID, time.Now()); err != nil || len(negs) != 1 || negs[0].Template[0] != alert.Probe[0] {
		t.Fatalf("negative exemplar after rotation: %+v %v", negs, err)
	}
	// Without any key the templates cannot be read.
	db.SetKeyring(nil)
	if _, err := db.Faces(ctx, g.ID, s.ID); !errors.Is(err, ErrNoTemplateKey) {
		t.Fatalf("reading sealed templates without a key: %v", err)
	}
}
