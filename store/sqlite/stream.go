package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/facegate/facegate"
)

const streamCols = "id, name, config, created_at, updated_at"

// scanStream reads a row of streamCols, opening its configuration when it is sealed.
func (db *DB) scanStream(r scanner, s *facegate.Stream) error {
	var cfg string
	var created, updated int64
	if err := r.Scan(&s.ID, &s.Name, &cfg, &created, &updated); err != nil {
		return err
	}
	cfg, err := db.openText(cfg, streamBinding(s.ID))
	if err != nil {
		return badValue("stream", s.ID, "config", err)
	}
	var c facegate.Stream
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		return badValue("stream", s.ID, "config", err)
	}
	c.ID, c.Name = s.ID, s.Name
	*s = c
	s.CreatedAt, s.UpdatedAt = fromNanos(created), fromNanos(updated)
	return nil
}

// streamConfig is the JSON kept in the config column: the whole stream but its columns, sealed (camera
// passwords and webhook secrets are in it) when a keyring is set. s.ID must be set.
func (db *DB) streamConfig(s *facegate.Stream) (string, error) {
	c := *s
	c.ID, c.Name, c.CreatedAt, c.UpdatedAt = "", "", time.Time{}, time.Time{}
	b, err := json.Marshal(&c)
	if err != nil {
		return "", err
	}
	return db.sealText(string(b), streamBinding(s.ID))
}

// CreateStream stores a new stream configuration, generating its ID when empty. A taken name or ID is
// ErrConflict.
func (db *DB) CreateStream(ctx context.Context, s *facegate.Stream) error {
	if s.Name == "" || s.Source == "" {
		return errors.New("sqlite: create stream: empty name or source")
	}
	if err := s.CheckLimits(); err != nil {
		return fmt.Errorf("sqlite: create stream: %w", err)
	}
	id := s.ID
	if id == "" {
		id = newID("str_")
	}
	c := *s
	c.ID = id
	cfg, err := db.streamConfig(&c)
	if err != nil {
		return fmt.Errorf("sqlite: create stream: %w", err)
	}
	t := now()
	_, err = db.execCreated(ctx, id, "INSERT INTO streams("+streamCols+") VALUES (?, ?, ?, ?, ?)",
		id, s.Name, cfg, t.UnixNano(), t.UnixNano())
	if isUnique(err) {
		return fmt.Errorf("sqlite: create stream: %w", conflict("a stream named %q exists", s.Name))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create stream %q: %w", s.Name, err)
	}
	s.ID, s.CreatedAt, s.UpdatedAt = id, t, t
	return nil
}

// Stream returns the stream with the given ID. A stream whose configuration does not open or parse is a
// *facegate.BadRowsError (DeleteStream still deletes it).
func (db *DB) Stream(ctx context.Context, id string) (*facegate.Stream, error) {
	var s facegate.Stream
	err := db.scanStream(db.read.QueryRowContext(ctx, "SELECT "+streamCols+" FROM streams WHERE id = ?", id), &s)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", notFound("stream", id))
	}
	if b, ok := asBadRow(err); ok {
		return nil, fmt.Errorf("sqlite: stream %s: %w", id, &facegate.BadRowsError{Rows: []facegate.BadRow{b}})
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: stream %s: %w", id, err)
	}
	return &s, nil
}

// Streams lists every stream, by name. A stream whose configuration does not open or parse is left out, and a
// *facegate.BadRowsError lists it with the others returned.
func (db *DB) Streams(ctx context.Context) ([]facegate.Stream, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+streamCols+" FROM streams ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlite: streams: %w", err)
	}
	defer rows.Close()
	out := []facegate.Stream{}
	var bad []facegate.BadRow
	for rows.Next() {
		var s facegate.Stream
		if err := db.scanStream(rows, &s); err != nil {
			if b, ok := asBadRow(err); ok {
				bad = append(bad, b)
				continue
			}
			return nil, fmt.Errorf("sqlite: streams: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: streams: %w", err)
	}
	if len(bad) > 0 {
		return out, &facegate.BadRowsError{Rows: bad}
	}
	return out, nil
}

// UpdateStream saves the stream's whole configuration and sets UpdatedAt. A name another stream has is
// ErrConflict.
func (db *DB) UpdateStream(ctx context.Context, s *facegate.Stream) error {
	if s.Name == "" || s.Source == "" {
		return errors.New("sqlite: update stream: empty name or source")
	}
	if err := s.CheckLimits(); err != nil {
		return fmt.Errorf("sqlite: update stream: %w", err)
	}
	cfg, err := db.streamConfig(s)
	if err != nil {
		return fmt.Errorf("sqlite: update stream: %w", err)
	}
	t := now()
	var created int64
	err = db.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "UPDATE streams SET name = ?, config = ?, updated_at = ? WHERE id = ? RETURNING created_at",
			s.Name, cfg, t.UnixNano(), s.ID).Scan(&created)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: update stream: %w", notFound("stream", s.ID))
	case isUnique(err):
		return fmt.Errorf("sqlite: update stream %s: %w", s.ID, conflict("a stream named %q exists", s.Name))
	case err != nil:
		return fmt.Errorf("sqlite: update stream %s: %w", s.ID, err)
	}
	s.CreatedAt, s.UpdatedAt = fromNanos(created), t
	return nil
}

// DeleteStream removes the stream, the match crops it kept and its crowd history, in one transaction.
func (db *DB) DeleteStream(ctx context.Context, id string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{"DELETE FROM match_crops WHERE stream_id = ?", "DELETE FROM crowds WHERE stream_id = ?"} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM streams WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("stream", id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete stream %s: %w", id, err)
	}
	return nil
}

// AddMatchCrop stores the face crop of a match event until c.ExpiresAt. The stream must exist.
func (db *DB) AddMatchCrop(ctx context.Context, c *facegate.MatchCrop) error {
	if c.EventID == "" || len(c.JPEG) == 0 {
		return errors.New("sqlite: add match crop: empty event id or image")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	jpeg, err := db.seal(c.JPEG, cropBinding(c.EventID))
	if err != nil {
		return fmt.Errorf("sqlite: add match crop %s: %w", c.EventID, err)
	}
	_, err = db.exec(ctx, `INSERT INTO match_crops(event_id, stream_id, gallery_id, subject_id, created_at, expires_at, jpeg)
	VALUES (?, ?, ?, ?, ?, ?, ?)`, c.EventID, c.StreamID, c.GalleryID, c.SubjectID, c.CreatedAt.UnixNano(), c.ExpiresAt.UnixNano(), jpeg)
	switch {
	case isUnique(err):
		return fmt.Errorf("sqlite: add match crop: %w", conflict("a crop for event %q exists", c.EventID))
	case isForeignKey(err):
		return fmt.Errorf("sqlite: add match crop %s: %w", c.EventID, notFound("stream", c.StreamID))
	case err != nil:
		return fmt.Errorf("sqlite: add match crop %s: %w", c.EventID, err)
	}
	return nil
}

// MatchCrop returns the crop kept for a match event.
func (db *DB) MatchCrop(ctx context.Context, eventID string) (*facegate.MatchCrop, error) {
	c := facegate.MatchCrop{EventID: eventID}
	var created, expires int64
	err := db.read.QueryRowContext(ctx, `SELECT stream_id, gallery_id, subject_id, created_at, expires_at, jpeg FROM match_crops
	WHERE event_id = ?`, eventID).Scan(&c.StreamID, &c.GalleryID, &c.SubjectID, &created, &expires, &c.JPEG)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", facegate.Userf(facegate.ErrNotFound, "no crop is kept for event %q (none was kept, or it expired or was erased)", eventID))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: match crop %s: %w", eventID, err)
	}
	c.CreatedAt, c.ExpiresAt = fromNanos(created), fromNanos(expires)
	if c.JPEG, err = db.open(c.JPEG, cropBinding(eventID)); err != nil {
		return nil, fmt.Errorf("sqlite: match crop %s: %w", eventID, err)
	}
	return &c, nil
}

// DeleteExpiredCrops deletes the crops whose expiry is not after now and returns how many it deleted.
func (db *DB) DeleteExpiredCrops(ctx context.Context, t time.Time) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM match_crops WHERE expires_at <= ?", t.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired crops: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete expired crops: %w", err)
	}
	return int(n), nil
}

// MatchCropsOf lists the crops kept of a subject's matches, oldest first.
func (db *DB) MatchCropsOf(ctx context.Context, galleryID, subjectID string) ([]facegate.MatchCrop, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT event_id, stream_id, created_at, expires_at, jpeg FROM match_crops
	WHERE gallery_id = ? AND subject_id = ? ORDER BY created_at, event_id`, galleryID, subjectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: match crops of %s: %w", subjectID, err)
	}
	defer rows.Close()
	out := []facegate.MatchCrop{}
	for rows.Next() {
		c := facegate.MatchCrop{GalleryID: galleryID, SubjectID: subjectID}
		var created, expires int64
		if err := rows.Scan(&c.EventID, &c.StreamID, &created, &expires, &c.JPEG); err != nil {
			return nil, fmt.Errorf("sqlite: match crops of %s: %w", subjectID, err)
		}
		c.CreatedAt, c.ExpiresAt = fromNanos(created), fromNanos(expires)
		if c.JPEG, err = db.open(c.JPEG, cropBinding(c.EventID)); err != nil {
			return nil, fmt.Errorf("sqlite: match crops of %s: %w", subjectID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: match crops of %s: %w", subjectID, err)
	}
	return out, nil
}
