package sqlite

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/facegate/facegate"
)

func openTest(t testing.TB) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db, dir
}

// template is a deterministic pseudo-random unit vector.
func template(seed uint64, dim int) []float32 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	t := make([]float32, dim)
	var n float64
	for i := range t {
		t[i] = float32(r.NormFloat64())
		n += float64(t[i]) * float64(t[i])
	}
	for i := range t {
		t[i] /= float32(math.Sqrt(n))
	}
	return t
}

func mustGallery(t testing.TB, db *DB, name string) *facegate.Gallery {
	t.Helper()
	// Exempt from consent (with a legal basis), so the tests of other rules can enrol freely; consent_test.go
	// covers galleries that require it.
	g := &facegate.Gallery{Name: name, Threshold: 0.4, ConsentExempt: true, LegalBasis: "test fixture"}
	if err := db.CreateGallery(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

func mustSubject(t testing.TB, db *DB, gid string) *facegate.Subject {
	t.Helper()
	s := &facegate.Subject{GalleryID: gid}
	if err := db.CreateSubject(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustFace(t testing.TB, db *DB, gid, sid string, seed uint64) *facegate.FaceRecord {
	t.Helper()
	f := &facegate.FaceRecord{GalleryID: gid, SubjectID: sid, Template: template(seed, 16), Thumbnail: []byte{0xff, 0xd8, byte(seed)}}
	if err := db.AddFace(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return f
}

// sameBits reports whether two templates hold bit-identical values (NaN payloads and -0 included).
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// equalFace compares two records field by field, templates bit for bit.
func equalFace(t *testing.T, got, want *facegate.FaceRecord) {
	t.Helper()
	if !sameBits(got.Template, want.Template) {
		t.Errorf("face %s: template %v, want %v", want.ID, got.Template, want.Template)
	}
	g, w := *got, *want
	g.Template, w.Template = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("face:\n got %+v\nwant %+v", g, w)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
}

// count runs a SELECT COUNT(*) on the writer connection.
func count(t testing.TB, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.write.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
