package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

func TestOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, p := range []struct{ pragma, want string }{
		{"journal_mode", "wal"}, {"synchronous", "2"}, {"foreign_keys", "1"}, {"secure_delete", "1"}, {"busy_timeout", "10000"},
	} {
		for pool, sdb := range map[string]*sql.DB{"write": db.write, "read": db.read} {
			var got string
			if err := sdb.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != p.want {
				t.Errorf("%s pool: PRAGMA %s = %s, want %s", pool, p.pragma, got, p.want)
			}
		}
	}
	if _, err := db.read.ExecContext(ctx, "INSERT INTO galleries(id, name, created_at, updated_at) VALUES ('x', 'x', 0, 0)"); err == nil {
		t.Error("the read pool accepted a write")
	}
	if n := count(t, db, "SELECT MAX(version) FROM schema_version"); n != len(migrations) {
		t.Errorf("schema version %d, want %d", n, len(migrations))
	}
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, FileName): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	g := mustGallery(t, db, "g")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopening applies no migration twice and keeps the data.
	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM schema_version"); n != len(migrations) {
		t.Errorf("%d schema_version rows, want %d", n, len(migrations))
	}
	if _, err := db.Gallery(ctx, g.ID); err != nil {
		t.Error(err)
	}

	// A database from a newer build is refused.
	if _, err := db.write.ExecContext(ctx, "INSERT INTO schema_version(version, applied_at) VALUES (99, 0)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err := Open(dir); err == nil {
		db.Close()
		t.Error("Open accepted schema version 99")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open: %v", err)
	}
}

func TestGalleryCRUD(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()

	g := &facegate.Gallery{Name: "staff", Description: "all staff", Threshold: 0.42, FMR: 1e-5, NoThumbnails: true}
	if err := db.CreateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(g.ID, "gal_") || len(g.ID) != 4+32 {
		t.Errorf("ID %q", g.ID)
	}
	if g.CreatedAt.IsZero() || !g.CreatedAt.Equal(g.UpdatedAt) || g.CreatedAt.Location() != time.UTC {
		t.Errorf("timestamps %v %v", g.CreatedAt, g.UpdatedAt)
	}
	got, err := db.Gallery(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, g) {
		t.Errorf("Gallery:\n got %+v\nwant %+v", got, g)
	}

	explicit := &facegate.Gallery{ID: "gal_visitors", Name: "visitors", Threshold: 0.5}
	if err := db.CreateGallery(ctx, explicit); err != nil {
		t.Fatal(err)
	}
	if explicit.ID != "gal_visitors" {
		t.Errorf("explicit ID replaced by %q", explicit.ID)
	}
	list, err := db.Galleries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []facegate.Gallery{*g, *explicit}; !reflect.DeepEqual(list, want) {
		t.Errorf("Galleries:\n got %+v\nwant %+v", list, want)
	}

	time.Sleep(time.Millisecond)
	created := g.CreatedAt
	upd := &facegate.Gallery{ID: g.ID, Name: "employees", Threshold: 0.35, FMR: 0}
	if err := db.UpdateGallery(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if !upd.CreatedAt.Equal(created) || !upd.UpdatedAt.After(created) {
		t.Errorf("after update: created %v updated %v (was created %v)", upd.CreatedAt, upd.UpdatedAt, created)
	}
	got, err = db.Gallery(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, upd) {
		t.Errorf("after update:\n got %+v\nwant %+v", got, upd)
	}

	if err := db.DeleteGallery(ctx, explicit.ID); err != nil {
		t.Fatal(err)
	}
	if list, err = db.Galleries(ctx); err != nil || len(list) != 1 {
		t.Errorf("Galleries after delete: %v, %v", list, err)
	}
}

func TestGalleryErrors(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	a := mustGallery(t, db, "a")
	b := mustGallery(t, db, "b")
	_, getErr := db.Gallery(ctx, "gal_missing")
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"create duplicate name", db.CreateGallery(ctx, &facegate.Gallery{Name: "a"}), facegate.ErrConflict},
		{"create duplicate ID", db.CreateGallery(ctx, &facegate.Gallery{ID: a.ID, Name: "c"}), facegate.ErrConflict},
		{"rename onto another", db.UpdateGallery(ctx, &facegate.Gallery{ID: b.ID, Name: "a"}), facegate.ErrConflict},
		{"get missing", getErr, facegate.ErrNotFound},
		{"update missing", db.UpdateGallery(ctx, &facegate.Gallery{ID: "gal_missing", Name: "z"}), facegate.ErrNotFound},
		{"delete missing", db.DeleteGallery(ctx, "gal_missing"), facegate.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.want) {
				t.Errorf("error %v, want %v", c.err, c.want)
			}
			if !strings.HasPrefix(c.err.Error(), "sqlite: ") {
				t.Errorf("error %q lacks the sqlite: prefix", c.err)
			}
		})
	}
	if err := db.CreateGallery(ctx, &facegate.Gallery{}); err == nil {
		t.Error("created a gallery without a name")
	}
	// The failed update changed nothing.
	if got, _ := db.Gallery(ctx, b.ID); got.Name != "b" {
		t.Errorf("gallery b renamed to %q", got.Name)
	}
}

func TestSubjectCRUD(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	other := mustGallery(t, db, "other")

	cases := []facegate.Subject{
		{ExternalID: "emp-1", DisplayName: "Ada Lovelace", Metadata: map[string]string{"dept": "eng", "badge": "42", "ünï": "çødé \"quoted\"\n"}},
		{DisplayName: "no external ID, no metadata"},
		{DisplayName: "second without external ID"},
		{ID: "sub_explicit", ExternalID: "emp-2", Metadata: map[string]string{}},
	}
	for i := range cases {
		s := cases[i]
		s.GalleryID = g.ID
		if err := db.CreateSubject(ctx, &s); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if cases[i].ID == "" && (!strings.HasPrefix(s.ID, "sub_") || len(s.ID) != 36) {
			t.Errorf("case %d: ID %q", i, s.ID)
		}
		got, err := db.Subject(ctx, g.ID, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Metadata) == 0 {
			s.Metadata = nil // no metadata reads back as nil
		}
		if !reflect.DeepEqual(got, &s) {
			t.Errorf("case %d:\n got %+v\nwant %+v", i, got, &s)
		}
	}

	// The same external ID in another gallery is fine.
	if err := db.CreateSubject(ctx, &facegate.Subject{GalleryID: other.ID, ExternalID: "emp-1"}); err != nil {
		t.Error(err)
	}

	s, err := db.Subject(ctx, g.ID, "sub_explicit")
	if err != nil {
		t.Fatal(err)
	}
	created := s.CreatedAt
	time.Sleep(time.Millisecond)
	s.DisplayName, s.ExternalID, s.Metadata = "Grace", "emp-3", map[string]string{"k": "v"}
	if err := db.UpdateSubject(ctx, s); err != nil {
		t.Fatal(err)
	}
	if !s.CreatedAt.Equal(created) || !s.UpdatedAt.After(created) {
		t.Errorf("timestamps after update: %v %v", s.CreatedAt, s.UpdatedAt)
	}
	got, err := db.Subject(ctx, g.ID, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("after update:\n got %+v\nwant %+v", got, s)
	}
	// Clearing the external ID and metadata.
	s.ExternalID, s.Metadata = "", nil
	if err := db.UpdateSubject(ctx, s); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Subject(ctx, g.ID, s.ID); got.ExternalID != "" || got.Metadata != nil {
		t.Errorf("after clearing: %+v", got)
	}
	if err := db.DeleteSubject(ctx, g.ID, s.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.Subject(ctx, g.ID, s.ID)
	wantErr(t, err, facegate.ErrNotFound)
}

func TestSubjectErrors(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	a := mustGallery(t, db, "a")
	b := mustGallery(t, db, "b")
	s1 := &facegate.Subject{GalleryID: a.ID, ExternalID: "x1"}
	s2 := &facegate.Subject{GalleryID: a.ID, ExternalID: "x2"}
	for _, s := range []*facegate.Subject{s1, s2} {
		if err := db.CreateSubject(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	_, getOther := db.Subject(ctx, b.ID, s1.ID)
	_, getMissing := db.Subject(ctx, a.ID, "sub_missing")
	_, listMissing := db.Subjects(ctx, "gal_missing", facegate.Page{})
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"duplicate external ID", db.CreateSubject(ctx, &facegate.Subject{GalleryID: a.ID, ExternalID: "x1"}), facegate.ErrConflict},
		{"duplicate ID", db.CreateSubject(ctx, &facegate.Subject{ID: s1.ID, GalleryID: b.ID}), facegate.ErrConflict},
		{"update onto taken external ID", db.UpdateSubject(ctx, &facegate.Subject{ID: s2.ID, GalleryID: a.ID, ExternalID: "x1"}), facegate.ErrConflict},
		{"missing gallery", db.CreateSubject(ctx, &facegate.Subject{GalleryID: "gal_missing"}), facegate.ErrNotFound},
		{"get from another gallery", getOther, facegate.ErrNotFound},
		{"get missing", getMissing, facegate.ErrNotFound},
		{"list missing gallery", listMissing, facegate.ErrNotFound},
		{"update in another gallery", db.UpdateSubject(ctx, &facegate.Subject{ID: s1.ID, GalleryID: b.ID}), facegate.ErrNotFound},
		{"update missing", db.UpdateSubject(ctx, &facegate.Subject{ID: "sub_missing", GalleryID: a.ID}), facegate.ErrNotFound},
		{"delete in another gallery", db.DeleteSubject(ctx, b.ID, s1.ID), facegate.ErrNotFound},
		{"delete missing", db.DeleteSubject(ctx, a.ID, "sub_missing"), facegate.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.want) {
				t.Errorf("error %v, want %v", c.err, c.want)
			}
			if !strings.HasPrefix(c.err.Error(), "sqlite: ") {
				t.Errorf("error %q lacks the sqlite: prefix", c.err)
			}
		})
	}
	// Nothing above changed s1 or s2.
	for _, want := range []*facegate.Subject{s1, s2} {
		got, err := db.Subject(ctx, a.ID, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("subject %s: %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	// A failed create leaves the caller's struct alone.
	s := &facegate.Subject{GalleryID: "gal_missing"}
	_ = db.CreateSubject(ctx, s)
	if s.ID != "" || !s.CreatedAt.IsZero() {
		t.Errorf("failed create set %+v", s)
	}
}

func TestFaceCRUD(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)

	cases := []struct {
		name string
		face facegate.FaceRecord
	}{
		{"full", facegate.FaceRecord{
			Template:  template(1, facegate.TemplateDim),
			Box:       facegate.Box{X1: 10.25, Y1: 20.5, X2: 110.125, Y2: 140.0625},
			Quality:   facegate.Quality{Size: 120, InterEye: 44.5, Sharpness: 0.8125, Brightness: 0.51, Contrast: 0.2, Pose: facegate.Pose{Yaw: -12.5, Pitch: 3.25, Roll: 0.1}, LeftEyeOpen: 0.99, RightEyeOpen: 0.98, Score: 0.87654321, Issues: []string{"dark", "blurred"}},
			Thumbnail: []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 2, 3, 0xff, 0xd9},
		}},
		{"no thumbnail", facegate.FaceRecord{Template: template(2, facegate.TemplateDim), Quality: facegate.Quality{Score: 0.5}}},
		{"awkward floats", facegate.FaceRecord{
			Template: []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.MaxFloat32, math.MaxFloat32,
				float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0x7fc00001), 1.0 / 3, -0.1, 1e-38},
			Box:     facegate.Box{X1: -1.5, Y1: math.SmallestNonzeroFloat32, X2: 1e30, Y2: 0.1},
			Quality: facegate.Quality{Size: math.MaxFloat32, Sharpness: 1.0 / 3, Issues: []string{}},
		}},
		{"explicit ID", facegate.FaceRecord{ID: "face_explicit", Template: []float32{1}}},
		{"gallery ID filled in", facegate.FaceRecord{Template: []float32{0.5, 0.25}}},
	}
	var want []facegate.FaceRecord
	for i, c := range cases {
		f := c.face
		f.SubjectID = s.ID
		if c.name != "gallery ID filled in" {
			f.GalleryID = g.ID
		}
		if err := db.AddFace(ctx, &f); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.face.ID == "" && (!strings.HasPrefix(f.ID, "face_") || len(f.ID) != 37) {
			t.Errorf("%s: ID %q", c.name, f.ID)
		}
		if f.GalleryID != g.ID || f.CreatedAt.IsZero() {
			t.Errorf("%s: after AddFace %+v", c.name, f)
		}
		if f.Quality.Issues != nil && len(f.Quality.Issues) == 0 {
			f.Quality.Issues = nil // an empty list reads back as none
		}
		got, err := db.Face(ctx, g.ID, s.ID, f.ID)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		t.Run(c.name, func(t *testing.T) { equalFace(t, got, &f) })
		want = append(want, f)
		if i == 0 {
			time.Sleep(time.Millisecond)
		}
	}

	list, err := db.Faces(ctx, g.ID, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(want) {
		t.Fatalf("Faces: %d, want %d", len(list), len(want))
	}
	byID := map[string]facegate.FaceRecord{}
	for _, f := range list {
		byID[f.ID] = f
	}
	if list[0].ID != want[0].ID {
		t.Errorf("Faces not oldest first: %s first, want %s", list[0].ID, want[0].ID)
	}
	for _, w := range want {
		got := byID[w.ID]
		equalFace(t, &got, &w)
	}

	// EachTemplate yields the same records, without thumbnails.
	seen := map[string]bool{}
	err = db.EachTemplate(ctx, func(f *facegate.FaceRecord) error {
		w := byID[f.ID]
		w.Thumbnail = nil
		equalFace(t, f, &w)
		seen[f.ID] = true
		return nil
	})
	if err != nil || len(seen) != len(want) {
		t.Errorf("EachTemplate: %d faces, %v", len(seen), err)
	}

	if err := db.DeleteFace(ctx, g.ID, s.ID, want[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.Face(ctx, g.ID, s.ID, want[0].ID)
	wantErr(t, err, facegate.ErrNotFound)
	if list, _ := db.Faces(ctx, g.ID, s.ID); len(list) != len(want)-1 {
		t.Errorf("%d faces after delete, want %d", len(list), len(want)-1)
	}

	// A subject without faces lists none, without error.
	empty := mustSubject(t, db, g.ID)
	if list, err := db.Faces(ctx, g.ID, empty.ID); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Faces of a subject without faces: %v, %v", list, err)
	}
}

func TestFaceErrors(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	a := mustGallery(t, db, "a")
	b := mustGallery(t, db, "b")
	s := mustSubject(t, db, a.ID)
	sb := mustSubject(t, db, b.ID)
	f := mustFace(t, db, a.ID, s.ID, 1)
	tmpl := []float32{1, 2}

	_, getOtherGallery := db.Face(ctx, b.ID, s.ID, f.ID)
	_, getOtherSubject := db.Face(ctx, a.ID, sb.ID, f.ID)
	_, getMissing := db.Face(ctx, a.ID, s.ID, "face_missing")
	_, listOther := db.Faces(ctx, b.ID, s.ID)
	_, listMissing := db.Faces(ctx, a.ID, "sub_missing")
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"add to missing subject", db.AddFace(ctx, &facegate.FaceRecord{GalleryID: a.ID, SubjectID: "sub_missing", Template: tmpl}), facegate.ErrNotFound},
		{"add to subject of another gallery", db.AddFace(ctx, &facegate.FaceRecord{GalleryID: b.ID, SubjectID: s.ID, Template: tmpl}), facegate.ErrNotFound},
		{"add duplicate ID", db.AddFace(ctx, &facegate.FaceRecord{ID: f.ID, GalleryID: a.ID, SubjectID: s.ID, Template: tmpl}), facegate.ErrConflict},
		{"get via another gallery", getOtherGallery, facegate.ErrNotFound},
		{"get via another subject", getOtherSubject, facegate.ErrNotFound},
		{"get missing", getMissing, facegate.ErrNotFound},
		{"list via another gallery", listOther, facegate.ErrNotFound},
		{"list missing subject", listMissing, facegate.ErrNotFound},
		{"delete via another gallery", db.DeleteFace(ctx, b.ID, s.ID, f.ID), facegate.ErrNotFound},
		{"delete via another subject", db.DeleteFace(ctx, a.ID, sb.ID, f.ID), facegate.ErrNotFound},
		{"delete missing", db.DeleteFace(ctx, a.ID, s.ID, "face_missing"), facegate.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !errors.Is(c.err, c.want) {
				t.Errorf("error %v, want %v", c.err, c.want)
			}
			if !strings.HasPrefix(c.err.Error(), "sqlite: ") {
				t.Errorf("error %q lacks the sqlite: prefix", c.err)
			}
		})
	}
	if err := db.AddFace(ctx, &facegate.FaceRecord{GalleryID: a.ID, SubjectID: s.ID}); err == nil {
		t.Error("added a face without a template")
	}
	if n := count(t, db, "SELECT COUNT(*) FROM faces"); n != 1 {
		t.Errorf("%d faces, want 1", n)
	}
}

func TestNoThumbnails(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	f := mustFace(t, db, g.ID, s.ID, 1)
	if got, _ := db.Face(ctx, g.ID, s.ID, f.ID); len(got.Thumbnail) == 0 {
		t.Fatal("thumbnail not kept")
	}
	g.NoThumbnails = true
	if err := db.UpdateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Face(ctx, g.ID, s.ID, f.ID); got.Thumbnail != nil {
		t.Error("switching NoThumbnails on kept an existing thumbnail")
	}
	f2 := &facegate.FaceRecord{GalleryID: g.ID, SubjectID: s.ID, Template: []float32{1}, Thumbnail: []byte{1, 2, 3}}
	if err := db.AddFace(ctx, f2); err != nil {
		t.Fatal(err)
	}
	if f2.Thumbnail != nil {
		t.Error("AddFace left the dropped thumbnail in the record")
	}
	if got, _ := db.Face(ctx, g.ID, s.ID, f2.ID); got.Thumbnail != nil {
		t.Error("a NoThumbnails gallery kept a new thumbnail")
	}
}

func TestKeys(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	keys := []*facegate.APIKey{
		{Name: "root", Role: facegate.RoleAdmin, Hash: []byte("hash-admin-0123456789abcdef")},
		{Name: "ops", Role: facegate.RoleOperator, Hash: []byte{0, 1, 2, 0xff}},
		{ID: "key_door", Name: "door", Role: facegate.RoleDevice, Hash: []byte{9}},
	}
	for _, k := range keys {
		if err := db.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k.ID, "key_") || k.CreatedAt.IsZero() {
			t.Errorf("after CreateKey: %+v", k)
		}
		got, err := db.KeyByHash(ctx, k.Hash)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, k) {
			t.Errorf("KeyByHash:\n got %+v\nwant %+v", got, k)
		}
		time.Sleep(time.Millisecond) // distinct CreatedAt, so Keys' order is known
	}
	list, err := db.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []facegate.APIKey{*keys[0], *keys[1], *keys[2]}; !reflect.DeepEqual(list, want) {
		t.Errorf("Keys:\n got %+v\nwant %+v", list, want)
	}
	for range 2 { // revoking twice is fine
		if err := db.RevokeKey(ctx, keys[1].ID); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := db.KeyByHash(ctx, keys[1].Hash); err != nil || !got.Revoked {
		t.Errorf("revoked key: %+v, %v", got, err)
	}

	_, byMissing := db.KeyByHash(ctx, []byte("nope"))
	_, byEmpty := db.KeyByHash(ctx, nil)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"duplicate hash", db.CreateKey(ctx, &facegate.APIKey{Role: facegate.RoleDevice, Hash: keys[0].Hash}), facegate.ErrConflict},
		{"duplicate ID", db.CreateKey(ctx, &facegate.APIKey{ID: "key_door", Role: facegate.RoleDevice, Hash: []byte("new")}), facegate.ErrConflict},
		{"unknown hash", byMissing, facegate.ErrNotFound},
		{"empty hash", byEmpty, facegate.ErrNotFound},
		{"revoke missing", db.RevokeKey(ctx, "key_missing"), facegate.ErrNotFound},
	} {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.err, c.want) })
	}
	for _, k := range []*facegate.APIKey{{Role: "root", Hash: []byte("x")}, {Role: facegate.RoleAdmin}} {
		if err := db.CreateKey(ctx, k); err == nil {
			t.Errorf("CreateKey accepted %+v", k)
		}
	}
}

func TestCascades(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	keep := mustGallery(t, db, "keep")
	s1, s2 := mustSubject(t, db, g.ID), mustSubject(t, db, g.ID)
	sk := mustSubject(t, db, keep.ID)
	var s1Faces []string
	for i := range 3 {
		s1Faces = append(s1Faces, mustFace(t, db, g.ID, s1.ID, uint64(i)).ID)
		mustFace(t, db, g.ID, s2.ID, uint64(10+i))
		mustFace(t, db, keep.ID, sk.ID, uint64(20+i))
	}
	templates := func() map[string]string { // face ID -> subject ID, as EachTemplate yields them
		m := map[string]string{}
		if err := db.EachTemplate(ctx, func(f *facegate.FaceRecord) error { m[f.ID] = f.SubjectID; return nil }); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if n := len(templates()); n != 9 {
		t.Fatalf("%d templates, want 9", n)
	}

	if err := db.DeleteSubject(ctx, g.ID, s1.ID); err != nil {
		t.Fatal(err)
	}
	_, err := db.Faces(ctx, g.ID, s1.ID)
	wantErr(t, err, facegate.ErrNotFound)
	for _, id := range s1Faces {
		_, err := db.Face(ctx, g.ID, s1.ID, id)
		wantErr(t, err, facegate.ErrNotFound)
	}
	m := templates()
	for id, sid := range m {
		if sid == s1.ID {
			t.Errorf("EachTemplate yields face %s of the deleted subject", id)
		}
	}
	if len(m) != 6 {
		t.Errorf("%d templates after deleting a subject, want 6", len(m))
	}
	if n := count(t, db, "SELECT COUNT(*) FROM faces WHERE subject_id = ?", s1.ID); n != 0 {
		t.Errorf("%d rows of the deleted subject's faces remain", n)
	}

	if err := db.DeleteGallery(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.Gallery(ctx, g.ID)
	wantErr(t, err, facegate.ErrNotFound)
	_, err = db.Subject(ctx, g.ID, s2.ID)
	wantErr(t, err, facegate.ErrNotFound)
	for _, q := range []string{"SELECT COUNT(*) FROM subjects WHERE gallery_id = ?", "SELECT COUNT(*) FROM faces WHERE gallery_id = ?"} {
		if n := count(t, db, q, g.ID); n != 0 {
			t.Errorf("%s: %d", q, n)
		}
	}
	m = templates()
	if len(m) != 3 {
		t.Errorf("%d templates after deleting the gallery, want 3", len(m))
	}
	for _, sid := range m {
		if sid != sk.ID {
			t.Errorf("EachTemplate yields a face of subject %s", sid)
		}
	}
	if list, err := db.Faces(ctx, keep.ID, sk.ID); err != nil || len(list) != 3 {
		t.Errorf("the other gallery's faces: %d, %v", len(list), err)
	}
}

func TestCreateSubjectWithFaces(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	s := &facegate.Subject{GalleryID: g.ID, ExternalID: "e1", Metadata: map[string]string{"a": "b"}}
	faces := []*facegate.FaceRecord{{Template: template(1, 8), Thumbnail: []byte("jpeg")}, {Template: template(2, 8)}}
	if err := db.CreateSubjectWithFaces(ctx, s, faces); err != nil {
		t.Fatal(err)
	}
	got, err := db.Faces(ctx, g.ID, s.ID)
	if err != nil || len(got) != 2 {
		t.Fatalf("Faces: %d, %v", len(got), err)
	}
	for i, f := range faces {
		if f.SubjectID != s.ID || f.GalleryID != g.ID || !f.CreatedAt.Equal(s.CreatedAt) {
			t.Errorf("face %d: %+v", i, f)
		}
		for _, gf := range got {
			if gf.ID == f.ID {
				equalFace(t, &gf, f)
			}
		}
	}

	// A failing face rolls the whole enrolment back.
	s2 := &facegate.Subject{GalleryID: g.ID, ExternalID: "e2"}
	bad := []*facegate.FaceRecord{{Template: []float32{1}}, {ID: faces[0].ID, Template: []float32{2}}}
	wantErr(t, db.CreateSubjectWithFaces(ctx, s2, bad), facegate.ErrConflict)
	if s2.ID != "" || bad[0].ID != "" {
		t.Errorf("failed enrolment set IDs: subject %q face %q", s2.ID, bad[0].ID)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM subjects WHERE external_id = 'e2'"); n != 0 {
		t.Error("a failed enrolment left its subject")
	}
	if n := count(t, db, "SELECT COUNT(*) FROM faces"); n != 2 {
		t.Errorf("%d faces after a failed enrolment, want 2", n)
	}
	// A face that names another subject is refused.
	err = db.CreateSubjectWithFaces(ctx, &facegate.Subject{GalleryID: g.ID}, []*facegate.FaceRecord{{SubjectID: s.ID, Template: []float32{1}}})
	if err == nil {
		t.Error("accepted a face of another subject")
	}
	wantErr(t, db.CreateSubjectWithFaces(ctx, &facegate.Subject{GalleryID: "gal_missing"}, []*facegate.FaceRecord{{Template: []float32{1}}}), facegate.ErrNotFound)
}

func TestSubjectsPagination(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	other := mustGallery(t, db, "other")
	mustSubject(t, db, other.ID) // never listed with g

	// Insert 250 subjects in one transaction: the listing, not the insert, is under test.
	want := map[string]bool{}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for range 250 {
			id := newID("sub_")
			want[id] = true
			if _, err := tx.ExecContext(ctx, "INSERT INTO subjects(id, gallery_id, created_at, updated_at) VALUES (?, ?, 0, 0)", id, g.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var pages [][]facegate.Subject
	after := ""
	for {
		page, err := db.Subjects(ctx, g.ID, facegate.Page{After: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page)
		after = page[len(page)-1].ID
		if len(pages) > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(pages) != 3 || len(pages[0]) != 100 || len(pages[1]) != 100 || len(pages[2]) != 50 {
		t.Fatalf("page sizes: %d pages", len(pages))
	}
	seen := map[string]bool{}
	prev := ""
	for _, p := range pages {
		for _, s := range p {
			if s.ID <= prev {
				t.Errorf("%s after %s: not in ID order", s.ID, prev)
			}
			if seen[s.ID] || !want[s.ID] || s.GalleryID != g.ID {
				t.Errorf("unexpected or duplicate subject %s", s.ID)
			}
			seen[s.ID], prev = true, s.ID
		}
	}
	if len(seen) != 250 {
		t.Errorf("%d distinct subjects, want 250", len(seen))
	}

	for _, c := range []struct{ limit, want int }{{0, 100}, {-5, 100}, {1, 1}, {1000, 250}} {
		if page, err := db.Subjects(ctx, g.ID, facegate.Page{Limit: c.limit}); err != nil || len(page) != c.want {
			t.Errorf("limit %d: %d subjects, %v; want %d", c.limit, len(page), err, c.want)
		}
	}
	// Past the end, and an empty gallery: no subjects, no error.
	empty := mustGallery(t, db, "empty")
	for _, gid := range []string{g.ID, empty.ID} {
		if page, err := db.Subjects(ctx, gid, facegate.Page{After: "sub_~"}); err != nil || page == nil || len(page) != 0 {
			t.Errorf("gallery %s past the end: %v, %v", gid, page, err)
		}
	}
}

func TestSubjectsLimitCap(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for i := range maxLimit + 5 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO subjects(id, gallery_id, created_at, updated_at) VALUES (?, ?, 0, 0)", fmt.Sprintf("sub_%05d", i), g.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page, err := db.Subjects(ctx, g.ID, facegate.Page{Limit: 1 << 20})
	if err != nil || len(page) != maxLimit {
		t.Errorf("huge limit: %d subjects, %v; want %d", len(page), err, maxLimit)
	}
}

func TestEachTemplateStops(t *testing.T) {
	db, _ := openTest(t)
	g := mustGallery(t, db, "g")
	s := mustSubject(t, db, g.ID)
	for i := range 5 {
		mustFace(t, db, g.ID, s.ID, uint64(i))
	}
	stop := errors.New("stop")
	calls := 0
	err := db.EachTemplate(context.Background(), func(f *facegate.FaceRecord) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 2 {
		t.Errorf("EachTemplate: %d calls, error %v; want 2 calls, the callback's error", calls, err)
	}

	// fn may use the store while iterating (reads on other connections, writes on the writer).
	err = db.EachTemplate(context.Background(), func(f *facegate.FaceRecord) error {
		if _, err := db.Face(context.Background(), f.GalleryID, f.SubjectID, f.ID); err != nil {
			return err
		}
		_, err := db.Subjects(context.Background(), f.GalleryID, facegate.Page{})
		return err
	})
	if err != nil {
		t.Error(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := db.EachTemplate(ctx, func(*facegate.FaceRecord) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("EachTemplate with a cancelled context: %v", err)
	}
}

func TestConcurrency(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	const writers, perWriter, readers = 8, 25, 4
	subjects := make([]*facegate.Subject, writers)
	for i := range subjects {
		subjects[i] = mustSubject(t, db, g.ID)
	}

	var wg, rwg sync.WaitGroup
	done := make(chan struct{})
	var reads atomic.Int64
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				f := &facegate.FaceRecord{GalleryID: g.ID, SubjectID: subjects[w].ID, Template: template(uint64(w*1000+i), 32), Thumbnail: []byte{byte(w), byte(i)}}
				if err := db.AddFace(ctx, f); err != nil {
					errs <- err
					return
				}
			}
			// A subject per writer too, racing on the same gallery.
			if err := db.CreateSubject(ctx, &facegate.Subject{GalleryID: g.ID, ExternalID: fmt.Sprintf("w%d", w)}); err != nil {
				errs <- err
			}
		})
	}
	for r := range readers {
		rwg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				var err error
				switch r {
				case 0:
					var list []facegate.FaceRecord
					list, err = db.Faces(ctx, g.ID, subjects[int(reads.Load())%writers].ID)
					if err == nil && len(list) > perWriter {
						err = fmt.Errorf("%d faces", len(list))
					}
				case 1:
					_, err = db.Subjects(ctx, g.ID, facegate.Page{Limit: 5})
				case 2:
					n := 0
					err = db.EachTemplate(ctx, func(f *facegate.FaceRecord) error {
						if len(f.Template) != 32 {
							return fmt.Errorf("template of %d", len(f.Template))
						}
						n++
						return nil
					})
					if err == nil && n > writers*perWriter {
						err = fmt.Errorf("%d templates", n)
					}
				case 3:
					_, err = db.Galleries(ctx)
					if err == nil {
						_, err = db.Subject(ctx, g.ID, subjects[0].ID)
					}
				}
				if err != nil {
					errs <- fmt.Errorf("reader %d: %w", r, err)
					return
				}
				reads.Add(1)
			}
		})
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	total := 0
	for _, s := range subjects {
		list, err := db.Faces(ctx, g.ID, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != perWriter {
			t.Errorf("subject %s: %d faces, want %d", s.ID, len(list), perWriter)
		}
		total += len(list)
	}
	n := 0
	if err := db.EachTemplate(ctx, func(*facegate.FaceRecord) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != writers*perWriter || total != n {
		t.Errorf("EachTemplate: %d, Faces: %d; want %d", n, total, writers*perWriter)
	}
	if page, err := db.Subjects(ctx, g.ID, facegate.Page{}); err != nil || len(page) != 2*writers {
		t.Errorf("Subjects: %d, %v; want %d", len(page), err, 2*writers)
	}
	t.Logf("%d reads during the writes", reads.Load())
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := &facegate.Gallery{Name: "g", Description: "d", Threshold: 0.3, FMR: 1e-4}
	if err := db.CreateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	s := &facegate.Subject{GalleryID: g.ID, ExternalID: "x", DisplayName: "X", Metadata: map[string]string{"k": "v"}}
	if err := db.CreateSubject(ctx, s); err != nil {
		t.Fatal(err)
	}
	if err := db.AddConsent(ctx, &facegate.Consent{GalleryID: g.ID, SubjectID: s.ID, GivenBy: "X", Evidence: "form 1",
		Purposes: []facegate.Purpose{facegate.PurposeAccessControl}}); err != nil {
		t.Fatal(err)
	}
	f := &facegate.FaceRecord{GalleryID: g.ID, SubjectID: s.ID, Template: template(7, facegate.TemplateDim),
		Box: facegate.Box{X1: 1, Y1: 2, X2: 3, Y2: 4}, Quality: facegate.Quality{Score: 0.9, Issues: []string{"dark"}}, Thumbnail: []byte("thumb")}
	if err := db.AddFace(ctx, f); err != nil {
		t.Fatal(err)
	}
	k := &facegate.APIKey{Name: "k", Role: facegate.RoleOperator, Hash: []byte("h")}
	if err := db.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.Gallery(ctx, g.ID); err != nil || !reflect.DeepEqual(got, g) {
		t.Errorf("gallery: %+v, %v", got, err)
	}
	if got, err := db.Subject(ctx, g.ID, s.ID); err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("subject: %+v, %v", got, err)
	}
	got, err := db.Face(ctx, g.ID, s.ID, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	equalFace(t, got, f)
	if got, err := db.KeyByHash(ctx, k.Hash); err != nil || !reflect.DeepEqual(got, k) {
		t.Errorf("key: %+v, %v", got, err)
	}
}

func TestOpenOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with #odd %20 chars&x=1")
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	mustGallery(t, db, "g")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("files beside the data directory: %v", entries)
	}
	if _, err := Open(""); err == nil {
		t.Error("Open accepted an empty directory")
	}
}

func TestSubjectByExternalID(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	other := mustGallery(t, db, "other")
	s := &facegate.Subject{GalleryID: g.ID, ExternalID: "emp-7", DisplayName: "Seven"}
	if err := db.CreateSubject(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := db.SubjectByExternalID(ctx, g.ID, "emp-7")
	if err != nil || got.ID != s.ID || got.DisplayName != "Seven" {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, c := range []struct{ gallery, ext string }{{other.ID, "emp-7"}, {g.ID, "emp-8"}, {g.ID, ""}} {
		_, err := db.SubjectByExternalID(ctx, c.gallery, c.ext)
		wantErr(t, err, facegate.ErrNotFound)
	}
}

func TestFaceSourceUnique(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	g := mustGallery(t, db, "g")
	a, b := mustSubject(t, db, g.ID), mustSubject(t, db, g.ID)
	src := strings.Repeat("ab", 32)
	f := &facegate.FaceRecord{SubjectID: a.ID, Template: template(1, 8), Source: src}
	if err := db.AddFace(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := db.Face(ctx, g.ID, a.ID, f.ID)
	if err != nil || got.Source != src {
		t.Fatalf("source read back as %q, %v", got.Source, err)
	}
	// The same image again for the same subject is a conflict and stores nothing.
	err = db.AddFace(ctx, &facegate.FaceRecord{SubjectID: a.ID, Template: template(2, 8), Source: src})
	wantErr(t, err, facegate.ErrConflict)
	if n := count(t, db, "SELECT COUNT(*) FROM faces WHERE subject_id = ?", a.ID); n != 1 {
		t.Errorf("%d faces after the duplicate", n)
	}
	// Another subject may use the same image (a group photo); faces without a source never collide.
	if err := db.AddFace(ctx, &facegate.FaceRecord{SubjectID: b.ID, Template: template(3, 8), Source: src}); err != nil {
		t.Error(err)
	}
	for i := range 2 {
		if err := db.AddFace(ctx, &facegate.FaceRecord{SubjectID: a.ID, Template: template(uint64(4+i), 8)}); err != nil {
			t.Error(err)
		}
	}
	n := 0
	if err := db.EachTemplate(ctx, func(f *facegate.FaceRecord) error {
		if f.Source == src {
			n++
		}
		return nil
	}); err != nil || n != 2 {
		t.Errorf("EachTemplate saw %d faces with the source, %v", n, err)
	}
}
