package sqlite

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// benchN is how many faces BenchmarkEachTemplate loads: 10,000 by default so that `go test -bench .` stays
// quick; -benchn=100000 or FACEGATE_BENCH_N=100000 measures a 100k-face gallery.
var benchN = flag.Int("benchn", 0, "faces for BenchmarkEachTemplate (default 10000, or $FACEGATE_BENCH_N)")

func benchFaces(b *testing.B) int {
	if *benchN > 0 {
		return *benchN
	}
	if v, err := strconv.Atoi(os.Getenv("FACEGATE_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 10_000
}

// benchThumbnail is about the size of the server's 112x112 JPEG thumbnails.
var benchThumbnail = make([]byte, 4<<10)

func benchQuality() facegate.Quality {
	return facegate.Quality{Size: 180, InterEye: 62.5, Sharpness: 0.71, Brightness: 0.48, Contrast: 0.21,
		Pose: facegate.Pose{Yaw: 4.2, Pitch: -3.1, Roll: 1.5}, LeftEyeOpen: 0.97, RightEyeOpen: 0.96, Score: 0.83, Issues: []string{"dark"}}
}

// BenchmarkAddFace measures one durable enrolment of a face (512-d template and a 4 KiB thumbnail): a
// transaction with an fsync of the WAL.
func BenchmarkAddFace(b *testing.B) {
	db, _ := openTest(b)
	ctx := context.Background()
	g := mustGallery(b, db, "bench")
	s := mustSubject(b, db, g.ID)
	tmpl := template(1, facegate.TemplateDim)
	b.ReportAllocs()
	for b.Loop() {
		f := &facegate.FaceRecord{GalleryID: g.ID, SubjectID: s.ID, Template: tmpl, Box: facegate.Box{X1: 10, Y1: 20, X2: 190, Y2: 230},
			Quality: benchQuality(), Thumbnail: benchThumbnail}
		if err := db.AddFace(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "faces/s")
}

// BenchmarkEachTemplate measures loading every template (as the server does at start-up) from a database of
// benchFaces faces, two per subject, with thumbnails. One op is a full load.
func BenchmarkEachTemplate(b *testing.B) {
	n := benchFaces(b)
	db, _ := openTest(b)
	ctx := context.Background()
	g := mustGallery(b, db, "bench")
	start := time.Now()
	q := benchQuality()
	for done := 0; done < n; {
		err := db.tx(ctx, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, insertFace)
			if err != nil {
				return err
			}
			defer stmt.Close()
			t := now()
			for end := min(n, done+5000); done < end; done += 2 {
				sid := newID("sub_")
				if _, err := tx.ExecContext(ctx, "INSERT INTO subjects(id, gallery_id, created_at, updated_at) VALUES (?, ?, ?, ?)", sid, g.ID, t.UnixNano(), t.UnixNano()); err != nil {
					return err
				}
				for j := range min(2, end-done) {
					r, err := db.encodeFace(&facegate.FaceRecord{Template: template(uint64(done+j), facegate.TemplateDim), Quality: q, Thumbnail: benchThumbnail})
					if err != nil {
						return err
					}
					if err := r.insert(ctx, stmt, g.ID, sid, false, t); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d faces in %v", n, time.Since(start))

	b.ReportAllocs()
	for b.Loop() {
		got := 0
		err := db.EachTemplate(ctx, func(f *facegate.FaceRecord) error {
			got++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("loaded %d templates, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/face")
}
