package sqlite

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/protect"
)

// sealedPair is a sealed store with a victim's and an attacker's face in one gallery.
func sealedPair(t *testing.T) (db *DB, k *protect.Keyring, victim, attacker *facegate.FaceRecord) {
	t.Helper()
	db, _ = openTest(t)
	k = keyring(t, keyLine(t, "k1"))
	db.SetKeyring(k)
	if _, err := db.SealStore(context.Background()); err != nil {
		t.Fatal(err)
	}
	g := mustGallery(t, db, "doors")
	victim = mustFace(t, db, g.ID, mustSubject(t, db, g.ID).ID, 1)
	attacker = mustFace(t, db, g.ID, mustSubject(t, db, g.ID).ID, 2)
	return db, k, victim, attacker
}

func rawExec(t *testing.T, db *DB, query string, args ...any) {
	t.Helper()
	if _, err := db.write.ExecContext(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}

// loaded is what EachTemplate delivers (face id → subject id) and the rows it reports bad.
func loaded(t *testing.T, db *DB) (map[string]string, []facegate.BadRow) {
	t.Helper()
	got := map[string]string{}
	err := db.EachTemplate(context.Background(), func(f *facegate.FaceRecord) error { got[f.ID] = f.SubjectID; return nil })
	var bad *facegate.BadRowsError
	if err != nil && !errors.As(err, &bad) {
		t.Fatal(err)
	}
	if bad == nil {
		return got, nil
	}
	return got, bad.Rows
}

// TestAttackPlaintextTemplateInSealedStore replays finding 4: someone with write access to the database file
// (no key) replaces the victim's sealed template by their own template in clear. The row is refused on every
// read path, skipped (and reported) when the index loads, not laundered by SealStore or rotation, not even after
// deleting the sealed marker.
func TestAttackPlaintextTemplateInSealedStore(t *testing.T) {
	db, _, victim, attacker := sealedPair(t)
	ctx := context.Background()
	rawExec(t, db, "UPDATE faces SET template = ? WHERE id = ?", encodeTemplate(attacker.Template), victim.ID)

	if _, err := db.Faces(ctx, victim.GalleryID, victim.SubjectID); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("reading the planted plaintext template: %v, want ErrNotSealed", err)
	}
	got, bad := loaded(t, db)
	if _, ok := got[victim.ID]; ok || got[attacker.ID] != attacker.SubjectID || len(bad) != 1 || bad[0].ID != victim.ID ||
		!strings.Contains(bad[0].Reason, "in clear") {
		t.Fatalf("index load: delivered %v, bad %+v", got, bad)
	}
	if _, err := db.RotateTemplates(ctx, 10, nil); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("rotation over the planted row: %v, want it refused", err)
	}
	// Deleting the marker does not turn the store back into one that seals what it finds in clear.
	rawExec(t, db, "DELETE FROM settings WHERE key = ?", sealSetting)
	if n, err := db.SealStore(ctx); err != nil || n != 0 || !db.Sealed() {
		t.Fatalf("SealStore after the marker was deleted: %d %v sealed=%v", n, err, db.Sealed())
	}
	if _, err := db.Face(ctx, victim.GalleryID, victim.SubjectID, victim.ID); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("after SealStore: %v, want the planted row still refused", err)
	}
	// A fresh process on the same file without a key reads nothing in clear either.
	db.SetKeyring(nil)
	if _, err := db.Faces(ctx, victim.GalleryID, victim.SubjectID); !errors.Is(err, ErrNoTemplateKey) {
		t.Fatalf("no key: %v", err)
	}
}

// TestAttackMovedSealedBlob: a sealed template copied into another face's row, or a face row reassigned to
// another subject, no longer opens.
func TestAttackMovedSealedBlob(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, db *DB, victim, attacker *facegate.FaceRecord) (badID string)
	}{
		{"blob copied to the victim's row", func(t *testing.T, db *DB, victim, attacker *facegate.FaceRecord) string {
			rawExec(t, db, "UPDATE faces SET template = (SELECT template FROM faces WHERE id = ?) WHERE id = ?", attacker.ID, victim.ID)
			return victim.ID
		}},
		{"attacker's row given to the victim", func(t *testing.T, db *DB, victim, attacker *facegate.FaceRecord) string {
			rawExec(t, db, "UPDATE faces SET subject_id = ? WHERE id = ?", victim.SubjectID, attacker.ID)
			return attacker.ID
		}},
		{"thumbnail copied to the victim's row", func(t *testing.T, db *DB, victim, attacker *facegate.FaceRecord) string {
			rawExec(t, db, "UPDATE faces SET thumbnail = (SELECT thumbnail FROM faces WHERE id = ?) WHERE id = ?", attacker.ID, victim.ID)
			return victim.ID
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _, victim, attacker := sealedPair(t)
			bad := tc.attack(t, db, victim, attacker)
			if _, err := db.Faces(context.Background(), victim.GalleryID, victim.SubjectID); !errors.Is(err, protect.ErrAuthFailed) {
				t.Fatalf("reading the victim's faces: %v, want ErrAuthFailed", err)
			}
			if strings.Contains(tc.name, "thumbnail") {
				return // EachTemplate does not read thumbnails
			}
			got, rows := loaded(t, db)
			if len(rows) != 1 || rows[0].ID != bad || !strings.Contains(rows[0].Reason, "does not authenticate") || len(got) != 1 {
				t.Fatalf("index load: delivered %v, bad %+v", got, rows)
			}
		})
	}
}

// TestSealedStoreOfPreviousFormat: a store sealed by the previous format (templates bound to "face:<id>" only,
// thumbnails to "thumb:<id>", no marker) still opens with its key; SealStore rebinds its values, after which a
// value in the previous format (an old copy put back) is refused.
func TestSealedStoreOfPreviousFormat(t *testing.T) {
	db, dir := openTest(t)
	ctx := context.Background()
	k := keyring(t, keyLine(t, "old"))
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	f := mustFace(t, db, g.ID, s.ID, 7) // written in clear, then sealed the way the previous format did
	oldTmpl, err := k.Seal(encodeTemplate(f.Template), []byte("face:"+f.ID))
	if err != nil {
		t.Fatal(err)
	}
	oldThumb, err := k.Seal(f.Thumbnail, []byte("thumb:"+f.ID))
	if err != nil {
		t.Fatal(err)
	}
	rawExec(t, db, "UPDATE faces SET template = ?, thumbnail = ? WHERE id = ?", oldTmpl, oldThumb, f.ID)
	db.Close()

	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetKeyring(k)
	if got, err := db.Face(ctx, g.ID, s.ID, f.ID); err != nil || !sameBits(got.Template, f.Template) || !bytes.Equal(got.Thumbnail, f.Thumbnail) {
		t.Fatalf("reading the previous format with its key: %v", err)
	}
	if n, err := db.SealStore(ctx); err != nil || n != 2 {
		t.Fatalf("SealStore rebinding the template and thumbnail: %d %v", n, err)
	}
	if got, err := db.Face(ctx, g.ID, s.ID, f.ID); err != nil || !sameBits(got.Template, f.Template) || !bytes.Equal(got.Thumbnail, f.Thumbnail) {
		t.Fatalf("reading after rebinding: %v", err)
	}
	rawExec(t, db, "UPDATE faces SET template = ? WHERE id = ?", oldTmpl, f.ID)
	if _, err := db.Face(ctx, g.ID, s.ID, f.ID); !errors.Is(err, protect.ErrAuthFailed) {
		t.Fatalf("a previous-format value put back into a sealed store: %v, want ErrAuthFailed", err)
	}
}

// TestSealStoreInterrupted: a store whose sealing stopped half way (marker "migrating", some rows sealed in the
// current format, some still in clear) finishes sealing on the next SealStore instead of refusing the rest.
func TestSealStoreInterrupted(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	a := mustFace(t, db, g.ID, s.ID, 1)
	k := keyring(t, keyLine(t, "k"))
	db.SetKeyring(k)
	if err := db.writeSealedSetting(ctx, k, sealSetting, []byte(sealMigrating)); err != nil {
		t.Fatal(err)
	}
	b := mustFace(t, db, g.ID, s.ID, 2) // sealed in the current format
	if n, err := db.SealStore(ctx); err != nil || n != 2 {
		t.Fatalf("finishing the interrupted sealing: %d %v", n, err) // a's template and thumbnail
	}
	if got, err := db.Face(ctx, g.ID, s.ID, a.ID); err != nil || !sameBits(got.Template, a.Template) {
		t.Fatalf("the face sealed by the resumed sealing: %v", err)
	}
	// A "migrating" marker forged without the key does not reopen the door.
	rawExec(t, db, "UPDATE settings SET value = 'migrating' WHERE key = ?", sealSetting)
	rawExec(t, db, "UPDATE faces SET template = ? WHERE id = ?", encodeTemplate(a.Template), b.ID)
	if n, err := db.SealStore(ctx); err != nil || n != 0 {
		t.Fatalf("SealStore with a forged marker: %d %v", n, err)
	}
	if _, err := db.Face(ctx, g.ID, s.ID, b.ID); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("planted row after a forged marker: %v", err)
	}
}

// TestSourceHashKeyed: with a keyring the image hash the store keeps is not the image's SHA-256 (so the database
// alone cannot confirm that a photo was enrolled), is stable across rotation, and differs between stores.
func TestSourceHashKeyed(t *testing.T) {
	ctx := context.Background()
	photo := []byte("\xff\xd8\xff\xe0 a photo of somebody")
	db, _ := openTest(t)
	plain, err := db.SourceHash(ctx, photo)
	if err != nil || len(plain) != 64 {
		t.Fatalf("plain hash %q %v", plain, err)
	}
	l1, l2 := keyLine(t, "k1"), keyLine(t, "k2")
	db.SetKeyring(keyring(t, l1))
	keyed, err := db.SourceHash(ctx, photo)
	if err != nil || keyed == plain || len(keyed) != 64 {
		t.Fatalf("keyed hash %q (plain %q) %v", keyed, plain, err)
	}
	db.SetKeyring(keyring(t, l2, l1))
	if _, err := db.RotateTemplates(ctx, 10, nil); err != nil {
		t.Fatal(err)
	}
	db.srcKey.Store(nil) // as a new process would: read the key back from the store
	db.SetKeyring(keyring(t, l2))
	if again, err := db.SourceHash(ctx, photo); err != nil || again != keyed {
		t.Fatalf("after rotation: %q, want %q (%v)", again, keyed, err)
	}
	other, _ := openTest(t)
	other.SetKeyring(keyring(t, l2))
	if h, err := other.SourceHash(ctx, photo); err != nil || h == keyed {
		t.Fatalf("another store's hash %q equals this one's", h)
	}
}

// TestStreamsCorruptRow: a stream row whose configuration does not parse (a store without a key) or does not
// open (a sealed store) is left out of Streams and listed in the BadRowsError; Stream says the same and
// DeleteStream removes it.
func TestStreamsCorruptRow(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		db, _ := openTest(t)
		ctx := context.Background()
		if sealed {
			db.SetKeyring(keyring(t, keyLine(t, "k")))
			if _, err := db.SealStore(ctx); err != nil {
				t.Fatal(err)
			}
		}
		good := &facegate.Stream{Name: "good", Source: "rtsp://admin:pw@cam/a"}
		bad := &facegate.Stream{Name: "bad", Source: "rtsp://cam/b"}
		for _, s := range []*facegate.Stream{good, bad} {
			if err := db.CreateStream(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		rawExec(t, db, "UPDATE streams SET config = '{\"source\": 1' WHERE id = ?", bad.ID)
		all, err := db.Streams(ctx)
		var be *facegate.BadRowsError
		if !errors.As(err, &be) || len(be.Rows) != 1 || be.Rows[0].ID != bad.ID || be.Rows[0].Kind != "stream" ||
			len(all) != 1 || all[0].ID != good.ID || all[0].Source != good.Source {
			t.Fatalf("sealed=%v: streams %+v, err %v", sealed, all, err)
		}
		if _, err := db.Stream(ctx, bad.ID); !errors.As(err, &be) {
			t.Fatalf("sealed=%v: Stream of the bad row: %v", sealed, err)
		}
		if err := db.DeleteStream(ctx, bad.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSealStoreKeysImageHashes: faces enrolled before the key kept the image's plain SHA-256; sealing the store
// replaces it by the keyed hash, the one SourceHash gives for the same image, so the photo cannot be confirmed
// from the database and is still recognised when sent again.
func TestSealStoreKeysImageHashes(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	photo := []byte("\xff\xd8\xff\xe0 an enrolment photo")
	plain, err := db.SourceHash(ctx, photo)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	f := face(g.ID, s.ID, 1)
	f.Source = plain
	if err := db.AddFace(ctx, f); err != nil {
		t.Fatal(err)
	}
	db.SetKeyring(keyring(t, keyLine(t, "k")))
	if _, err := db.SealStore(ctx); err != nil {
		t.Fatal(err)
	}
	keyed, err := db.SourceHash(ctx, photo)
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Face(ctx, g.ID, s.ID, f.ID)
	if err != nil || got.Source == plain || got.Source != keyed {
		t.Fatalf("stored image hash %q: plain %q, keyed %q (%v)", got.Source, plain, keyed, err)
	}
	if n := count(t, db, "SELECT count(*) FROM faces WHERE source = ?", plain); n != 0 {
		t.Fatalf("%d rows still hold the plain SHA-256", n)
	}
}
