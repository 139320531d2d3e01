package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

const (
	faceCols   = "id, gallery_id, subject_id, created_at, box, quality, source, template, thumbnail"
	insertFace = "INSERT INTO faces(" + faceCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// faceRow is a face encoded for its row.
type faceRow struct {
	db        *DB
	id        string
	template  []byte // in clear: insert seals it, bound to the face's gallery and subject
	box       string
	quality   string
	source    string
	thumbnail []byte // nil: NULL; in clear like template
}

func (db *DB) encodeFace(f *facegate.FaceRecord) (faceRow, error) {
	r := faceRow{db: db, id: f.ID, source: f.Source}
	if r.id == "" {
		r.id = newID("face_")
	}
	if len(f.Template) == 0 {
		return r, errors.New("empty template")
	}
	r.template = encodeTemplate(f.Template)
	b, err := json.Marshal(f.Box)
	if err != nil {
		return r, fmt.Errorf("box: %w", err)
	}
	r.box = string(b)
	if b, err = json.Marshal(f.Quality); err != nil {
		return r, fmt.Errorf("quality: %w", err)
	}
	r.quality = string(b)
	if len(f.Thumbnail) > 0 {
		r.thumbnail = f.Thumbnail
	}
	return r, nil
}

// insert stores the face for subject sid of gallery gid; a gallery with NoThumbnails keeps no thumbnail.
func (r *faceRow) insert(ctx context.Context, stmt *sql.Stmt, gid, sid string, noThumbs bool, t time.Time) error {
	tmpl, err := r.db.seal(r.template, faceBinding(r.id, gid, sid))
	if err != nil {
		return err
	}
	var thumb any // NULL
	if r.thumbnail != nil && !noThumbs {
		if thumb, err = r.db.seal(r.thumbnail, thumbBinding(r.id, gid, sid)); err != nil {
			return err
		}
	}
	_, err = stmt.ExecContext(ctx, r.id, gid, sid, t.UnixNano(), r.box, r.quality, r.source, tmpl, thumb)
	switch {
	case isUnique(err) && r.source != "" && strings.Contains(err.Error(), "source"):
		return fmt.Errorf("subject %s: image %s: %w", sid, r.source, conflict("the subject already has a face from this image"))
	case isUnique(err):
		return conflict("face %q exists", r.id)
	case isForeignKey(err):
		return notFound("subject", sid)
	}
	return err
}

// apply copies what the store set back into the record once its transaction has committed.
func (r *faceRow) apply(f *facegate.FaceRecord, gid, sid string, noThumbs bool, t time.Time) {
	f.ID, f.GalleryID, f.SubjectID, f.CreatedAt = r.id, gid, sid, t
	if noThumbs {
		f.Thumbnail = nil
	}
}

// encodeTemplate is the template as little-endian float32s.
func encodeTemplate(t []float32) []byte {
	b := make([]byte, 4*len(t))
	for i, v := range t {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func decodeTemplate(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("template of %d bytes is not a whole number of float32s", len(b))
	}
	t := make([]float32, len(b)/4)
	for i := range t {
		t[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return t, nil
}

// scanFace reads a row of faceCols, or of faceCols without the thumbnail when withThumb is false.
func (db *DB) scanFace(r scanner, f *facegate.FaceRecord, withThumb bool) error {
	var tmpl, box, quality sql.RawBytes
	var created int64
	dest := []any{&f.ID, &f.GalleryID, &f.SubjectID, &created, &box, &quality, &f.Source, &tmpl}
	f.Thumbnail = nil
	if withThumb {
		dest = append(dest, &f.Thumbnail)
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	var err error
	if f.Template, err = db.openTemplate(tmpl, faceBinding(f.ID, f.GalleryID, f.SubjectID)); err != nil {
		return badValue("face", f.ID, "template", err)
	}
	if err := decodeBox(box, &f.Box); err != nil {
		return badValue("face", f.ID, "box", err)
	}
	if err := decodeQuality(quality, &f.Quality); err != nil {
		return badValue("face", f.ID, "quality", err)
	}
	if len(f.Thumbnail) == 0 {
		f.Thumbnail = nil
	} else if f.Thumbnail, err = db.open(f.Thumbnail, thumbBinding(f.ID, f.GalleryID, f.SubjectID)); err != nil {
		return badValue("face", f.ID, "thumbnail", err)
	}
	f.CreatedAt = fromNanos(created)
	return nil
}

// AddFace stores a face of the existing subject f.SubjectID, generating its ID when empty and setting
// CreatedAt. f.GalleryID, when set, must be the subject's gallery; when empty it is filled in. A missing subject
// (or one of another gallery) is ErrNotFound, a taken face ID ErrConflict. A gallery with NoThumbnails keeps no
// thumbnail: f.Thumbnail is then cleared.
func (db *DB) AddFace(ctx context.Context, f *facegate.FaceRecord) error {
	if f.SubjectID == "" {
		return errors.New("sqlite: add face: empty subject ID")
	}
	r, err := db.encodeFace(f)
	if err != nil {
		return fmt.Errorf("sqlite: add face to subject %s: %w", f.SubjectID, err)
	}
	t := now()
	var gid string
	var noThumbs bool
	err = db.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT s.gallery_id, g.no_thumbnails FROM subjects s JOIN galleries g ON g.id = s.gallery_id
	WHERE s.id = ? AND (? = '' OR s.gallery_id = ?)`, f.SubjectID, f.GalleryID, f.GalleryID).Scan(&gid, &noThumbs)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("subject", f.SubjectID)
		}
		if err != nil {
			return err
		}
		if err := checkConsent(ctx, tx, gid, f.SubjectID, t); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, insertFace)
		if err != nil {
			return err
		}
		defer stmt.Close()
		audit.Note(ctx, "created", r.id)
		return r.insert(ctx, stmt, gid, f.SubjectID, noThumbs, t)
	})
	if err != nil {
		return fmt.Errorf("sqlite: add face to subject %s: %w", f.SubjectID, err)
	}
	r.apply(f, gid, f.SubjectID, noThumbs, t)
	return nil
}

// Faces lists the subject's faces, oldest first, with their thumbnails. A missing subject is ErrNotFound. A face
// whose stored values do not open or decode is left out, and the readable faces are returned with a
// *facegate.BadRowsError listing it (as EachTemplate does).
func (db *DB) Faces(ctx context.Context, galleryID, subjectID string) ([]facegate.FaceRecord, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+faceCols+" FROM faces WHERE gallery_id = ? AND subject_id = ? ORDER BY created_at, id",
		galleryID, subjectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: faces of subject %s: %w", subjectID, err)
	}
	defer rows.Close()
	out := []facegate.FaceRecord{}
	var bad []facegate.BadRow
	for rows.Next() {
		var f facegate.FaceRecord
		if err := db.scanFace(rows, &f, true); err != nil {
			if b, ok := asBadRow(err); ok {
				bad = append(bad, b)
				continue
			}
			return nil, fmt.Errorf("sqlite: faces of subject %s: %w", subjectID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: faces of subject %s: %w", subjectID, err)
	}
	if len(bad) > 0 {
		return out, &facegate.BadRowsError{Rows: bad}
	}
	if len(out) == 0 {
		if err := db.exists(ctx, "SELECT 1 FROM subjects WHERE id = ? AND gallery_id = ?", subjectID, galleryID); errors.Is(err, facegate.ErrNotFound) {
			return nil, fmt.Errorf("sqlite: faces: %w", notFound("subject", subjectID))
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: faces of subject %s: %w", subjectID, err)
		}
	}
	return out, nil
}

// Face returns one face of the subject, with its thumbnail.
func (db *DB) Face(ctx context.Context, galleryID, subjectID, id string) (*facegate.FaceRecord, error) {
	// Query rather than QueryRow: scanFace reads into sql.RawBytes, which Row.Scan refuses.
	rows, err := db.read.QueryContext(ctx, "SELECT "+faceCols+" FROM faces WHERE id = ? AND subject_id = ? AND gallery_id = ?",
		id, subjectID, galleryID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: face %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: face %s: %w", id, err)
		}
		return nil, fmt.Errorf("sqlite: %w", notFound("face", id))
	}
	var f facegate.FaceRecord
	if err := db.scanFace(rows, &f, true); err != nil {
		if b, ok := asBadRow(err); ok {
			err = &facegate.BadRowsError{Rows: []facegate.BadRow{b}}
		}
		return nil, fmt.Errorf("sqlite: face %s: %w", id, err)
	}
	return &f, nil
}

// DeleteFace removes one face of the subject.
func (db *DB) DeleteFace(ctx context.Context, galleryID, subjectID, id string) error {
	res, err := db.exec(ctx, "DELETE FROM faces WHERE id = ? AND subject_id = ? AND gallery_id = ?", id, subjectID, galleryID)
	if err != nil {
		return fmt.Errorf("sqlite: delete face %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete face %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("sqlite: delete face: %w", notFound("face", id))
	}
	return nil
}

// EachTemplate calls fn for every stored face, without its thumbnail, streaming them from one query (one
// consistent snapshot). Each call gets a fresh record that fn may keep. An error from fn stops the iteration
// and is returned as is. fn may call the store's other methods. A face whose values do not open or decode
// (tampered, corrupt) is skipped, and once every other face has been delivered a *facegate.BadRowsError lists
// the skipped ones; a sealed store read without a keyring stops it with ErrNoTemplateKey.
func (db *DB) EachTemplate(ctx context.Context, fn func(f *facegate.FaceRecord) error) error {
	rows, err := db.read.QueryContext(ctx, "SELECT id, gallery_id, subject_id, created_at, box, quality, source, template FROM faces")
	if err != nil {
		return fmt.Errorf("sqlite: templates: %w", err)
	}
	defer rows.Close()
	var bad []facegate.BadRow
	for rows.Next() {
		f := new(facegate.FaceRecord)
		if err := db.scanFace(rows, f, false); err != nil {
			if b, ok := asBadRow(err); ok {
				bad = append(bad, b)
				continue
			}
			return fmt.Errorf("sqlite: templates: %w", err)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: templates: %w", err)
	}
	if len(bad) > 0 {
		return &facegate.BadRowsError{Rows: bad}
	}
	return nil
}

// DeleteExpiredFaces deletes the faces enrolled more than their gallery's retention_days before t, in one
// transaction, and returns their IDs, galleries and subjects.
func (db *DB) DeleteExpiredFaces(ctx context.Context, t time.Time) ([]facegate.FaceRecord, error) {
	var out []facegate.FaceRecord
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM faces WHERE id IN (
	SELECT f.id FROM faces f JOIN galleries g ON g.id = f.gallery_id
	WHERE g.retention_days > 0 AND f.created_at <= ? - g.retention_days * 86400000000000)
	RETURNING id, gallery_id, subject_id`, t.UnixNano())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f facegate.FaceRecord
			if err := rows.Scan(&f.ID, &f.GalleryID, &f.SubjectID); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete expired faces: %w", err)
	}
	return out, nil
}
