package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

const (
	subjectCols  = "id, gallery_id, external_id, display_name, metadata, minor, watch, created_at, updated_at"
	defaultLimit = 100
	maxLimit     = 1000
)

func scanSubject(r scanner, s *facegate.Subject) error {
	var meta, watch sql.NullString
	var minor int
	var created, updated int64
	if err := r.Scan(&s.ID, &s.GalleryID, &s.ExternalID, &s.DisplayName, &meta, &minor, &watch, &created, &updated); err != nil {
		return err
	}
	s.Minor = minor != 0
	s.Watch = nil
	if watch.Valid && watch.String != "" {
		s.Watch = &facegate.WatchEntry{}
		if err := json.Unmarshal([]byte(watch.String), s.Watch); err != nil {
			return fmt.Errorf("subject %s: watch: %w", s.ID, err)
		}
	}
	s.Metadata = nil
	if meta.Valid && meta.String != "" {
		if err := json.Unmarshal([]byte(meta.String), &s.Metadata); err != nil {
			return fmt.Errorf("subject %s: metadata: %w", s.ID, err)
		}
	}
	s.CreatedAt, s.UpdatedAt = fromNanos(created), fromNanos(updated)
	return nil
}

// encodeMetadata is the metadata column's value: NULL for no metadata, JSON text otherwise.
func encodeMetadata(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// CreateSubject stores a new subject in s.GalleryID, generating its ID when empty and setting CreatedAt and
// UpdatedAt. A missing gallery is ErrNotFound; a taken ID, or an ExternalID another subject of the gallery has,
// is ErrConflict.
func (db *DB) CreateSubject(ctx context.Context, s *facegate.Subject) error {
	return db.CreateSubjectWithFaces(ctx, s, nil)
}

// CreateSubjectWithFaces stores a new subject together with its faces in one transaction: either all of them
// are stored or none is. Each face's SubjectID and GalleryID are set to the subject's (a face naming another
// subject or gallery is an error). IDs and timestamps are set as by CreateSubject and AddFace, and only when the
// transaction commits.
func (db *DB) CreateSubjectWithFaces(ctx context.Context, s *facegate.Subject, faces []*facegate.FaceRecord) error {
	return db.CreateSubjectWithConsent(ctx, s, nil, faces)
}

// CreateSubjectWithConsent stores a new subject, its first consent records and its faces in one transaction:
// all of them or none. In a gallery that requires consent, faces are refused (ErrConsent) unless one of the
// consents covers the gallery's purpose. A minor cannot be added to a watchlist (ErrMinorOnWatchlist), and a
// watchlist subject needs its watch entry (reason and review date).
func (db *DB) CreateSubjectWithConsent(ctx context.Context, s *facegate.Subject, consents []*facegate.Consent, faces []*facegate.FaceRecord) error {
	if s.GalleryID == "" {
		return errors.New("sqlite: create subject: empty gallery ID")
	}
	if err := s.CheckLimits(); err != nil {
		return fmt.Errorf("sqlite: create subject: %w", err)
	}
	id := s.ID
	if id == "" {
		id = newID("sub_")
	}
	meta, err := encodeMetadata(s.Metadata)
	if err != nil {
		return fmt.Errorf("sqlite: create subject %s: metadata: %w", id, err)
	}
	rows := make([]faceRow, len(faces))
	for i, f := range faces {
		if f == nil {
			return fmt.Errorf("sqlite: create subject %s: face %d is nil", id, i)
		}
		if (f.SubjectID != "" && f.SubjectID != id) || (f.GalleryID != "" && f.GalleryID != s.GalleryID) {
			return fmt.Errorf("sqlite: create subject %s: face %d belongs to subject %s of gallery %s", id, i, f.SubjectID, f.GalleryID)
		}
		if rows[i], err = db.encodeFace(f); err != nil {
			return fmt.Errorf("sqlite: create subject %s: face %d: %w", id, i, err)
		}
	}
	watch, err := encodeWatch(s.Watch)
	if err != nil {
		return fmt.Errorf("sqlite: create subject %s: watch: %w", id, err)
	}
	t := now()
	var noThumbs bool
	err = db.tx(ctx, func(tx *sql.Tx) error {
		audit.Note(ctx, "created", id)
		var purpose string
		err := tx.QueryRowContext(ctx, "SELECT no_thumbnails, purpose FROM galleries WHERE id = ?", s.GalleryID).Scan(&noThumbs, &purpose)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("gallery", s.GalleryID)
		}
		if err != nil {
			return err
		}
		if err := checkWatch(facegate.Purpose(purpose), s); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO subjects("+subjectCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			id, s.GalleryID, s.ExternalID, s.DisplayName, meta, boolInt(s.Minor), watch, t.UnixNano(), t.UnixNano())
		if isUnique(err) {
			return fmt.Errorf("subject %s: %w", id, subjectConflict(s.ExternalID))
		}
		if err != nil {
			return err
		}
		for _, c := range consents {
			if err := insertConsent(ctx, tx, c, s.GalleryID, id, t); err != nil {
				return err
			}
		}
		if len(rows) == 0 {
			return nil
		}
		if err := checkConsent(ctx, tx, s.GalleryID, id, t); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, insertFace)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i := range rows {
			if err := rows[i].insert(ctx, stmt, s.GalleryID, id, noThumbs, t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: create subject %s: %w", id, err)
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, t, t
	for i, f := range faces {
		rows[i].apply(f, s.GalleryID, id, noThumbs, t)
	}
	return nil
}

// Subject returns the subject with the given ID in the gallery.
func (db *DB) Subject(ctx context.Context, galleryID, id string) (*facegate.Subject, error) {
	var s facegate.Subject
	err := scanSubject(db.read.QueryRowContext(ctx, "SELECT "+subjectCols+" FROM subjects WHERE id = ? AND gallery_id = ?", id, galleryID), &s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", notFound("subject", id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: subject %s: %w", id, err)
	}
	return &s, nil
}

// SubjectByExternalID returns the gallery's subject with the given (non-empty) external ID.
func (db *DB) SubjectByExternalID(ctx context.Context, galleryID, externalID string) (*facegate.Subject, error) {
	if externalID == "" {
		return nil, fmt.Errorf("sqlite: subject by external ID: %w", facegate.Userf(facegate.ErrNotFound, "no external ID given"))
	}
	var s facegate.Subject
	err := scanSubject(db.read.QueryRowContext(ctx, "SELECT "+subjectCols+" FROM subjects WHERE gallery_id = ? AND external_id = ?", galleryID, externalID), &s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", facegate.Userf(facegate.ErrNotFound, "no subject with external ID %q", externalID))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: subject with external ID %q: %w", externalID, err)
	}
	return &s, nil
}

// Subjects lists the gallery's subjects with IDs after p.After, in ID order, at most p.Limit of them (100 when
// zero or negative, never more than 1000). A missing gallery is ErrNotFound.
func (db *DB) Subjects(ctx context.Context, galleryID string, p facegate.Page) ([]facegate.Subject, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	rows, err := db.read.QueryContext(ctx, "SELECT "+subjectCols+` FROM subjects WHERE gallery_id = ? AND id > ?
	AND (? = '' OR instr(lower(display_name), lower(?)) > 0 OR external_id = ?) ORDER BY id LIMIT ?`,
		galleryID, p.After, p.Query, p.Query, p.Query, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: subjects of %s: %w", galleryID, err)
	}
	defer rows.Close()
	out := []facegate.Subject{}
	for rows.Next() {
		var s facegate.Subject
		if err := scanSubject(rows, &s); err != nil {
			return nil, fmt.Errorf("sqlite: subjects of %s: %w", galleryID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: subjects of %s: %w", galleryID, err)
	}
	if len(out) == 0 { // rows prove the gallery exists; none may mean it does not
		if err := db.exists(ctx, "SELECT 1 FROM galleries WHERE id = ?", galleryID); errors.Is(err, facegate.ErrNotFound) {
			return nil, fmt.Errorf("sqlite: subjects: %w", notFound("gallery", galleryID))
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: subjects of gallery %s: %w", galleryID, err)
		}
	}
	return out, nil
}

// UpdateSubject saves the subject's ExternalID, DisplayName and Metadata, sets UpdatedAt and reloads CreatedAt.
func (db *DB) UpdateSubject(ctx context.Context, s *facegate.Subject) error {
	if err := s.CheckLimits(); err != nil {
		return fmt.Errorf("sqlite: update subject %s: %w", s.ID, err)
	}
	meta, err := encodeMetadata(s.Metadata)
	if err != nil {
		return fmt.Errorf("sqlite: update subject %s: metadata: %w", s.ID, err)
	}
	t := now()
	var created int64
	watch, err := encodeWatch(s.Watch)
	if err != nil {
		return fmt.Errorf("sqlite: update subject %s: watch: %w", s.ID, err)
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var purpose string
		err := tx.QueryRowContext(ctx, "SELECT purpose FROM galleries WHERE id = ?", s.GalleryID).Scan(&purpose)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("gallery", s.GalleryID)
		}
		if err != nil {
			return err
		}
		if err := checkWatch(facegate.Purpose(purpose), s); err != nil {
			return err
		}
		err = tx.QueryRowContext(ctx, `UPDATE subjects SET external_id = ?, display_name = ?, metadata = ?, minor = ?, watch = ?, updated_at = ?
	WHERE id = ? AND gallery_id = ? RETURNING created_at`,
			s.ExternalID, s.DisplayName, meta, boolInt(s.Minor), watch, t.UnixNano(), s.ID, s.GalleryID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("subject", s.ID)
		}
		if isUnique(err) {
			return subjectConflict(s.ExternalID)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: update subject %s: %w", s.ID, err)
	}
	s.CreatedAt, s.UpdatedAt = fromNanos(created), t
	return nil
}

// DeleteSubject removes the subject, its faces (templates and thumbnails) and its match crops in one transaction.
func (db *DB) DeleteSubject(ctx context.Context, galleryID, id string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM faces WHERE gallery_id = ? AND subject_id = ?", galleryID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM match_crops WHERE gallery_id = ? AND subject_id = ?", galleryID, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM subjects WHERE id = ? AND gallery_id = ?", id, galleryID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("subject", id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete subject %s: %w", id, err)
	}
	return nil
}

// exists returns nil when query (a SELECT 1 ...) yields a row, ErrNotFound when it yields none.
func (db *DB) exists(ctx context.Context, query string, args ...any) error {
	var one int
	err := db.read.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return facegate.ErrNotFound
	}
	return err
}

// encodeWatch is the watch column's value: NULL for none, JSON otherwise.
func encodeWatch(w *facegate.WatchEntry) (any, error) {
	if w == nil {
		return nil, nil
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// checkWatch applies the watchlist rules to a subject of a gallery with the given purpose.
func checkWatch(purpose facegate.Purpose, s *facegate.Subject) error {
	if purpose != facegate.PurposeWatchlist {
		return nil
	}
	if s.Minor {
		return facegate.Userf(facegate.ErrMinorOnWatchlist, "the subject is a minor, and minors are never added to watchlists")
	}
	if s.Watch == nil || s.Watch.Reason == "" || s.Watch.ReviewAt.IsZero() {
		return invalid("a watchlist entry needs a reason and a review date (watch.reason and watch.review_at)")
	}
	return nil
}

// subjectConflict is the conflict of a subject whose external ID another subject of the gallery has.
func subjectConflict(externalID string) error {
	if externalID == "" {
		return conflict("the subject exists")
	}
	return conflict("a subject with external ID %q exists in this gallery", externalID)
}

// txSubjects lists every subject of gallery gid inside tx.
func txSubjects(ctx context.Context, tx *sql.Tx, gid string) ([]facegate.Subject, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+subjectCols+" FROM subjects WHERE gallery_id = ? ORDER BY id", gid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []facegate.Subject
	for rows.Next() {
		var s facegate.Subject
		if err := scanSubject(rows, &s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
