package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/facegate/facegate"
)

const alertCols = "id, gallery_id, subject_id, stream_id, event_id, track, score, status, created_at, reviewed_by, reviewed_at, note"

func scanAlert(r scanner, a *facegate.Alert) error {
	var created, reviewed int64
	if err := r.Scan(&a.ID, &a.GalleryID, &a.SubjectID, &a.StreamID, &a.EventID, &a.Track, &a.Score, &a.Status, &created,
		&a.ReviewedBy, &reviewed, &a.Note); err != nil {
		return err
	}
	a.CreatedAt, a.ReviewedAt = fromNanos(created), time.Time{}
	if reviewed != 0 {
		a.ReviewedAt = fromNanos(reviewed)
	}
	return nil
}

// AddAlert stores a pending alert with its probe template.
func (db *DB) AddAlert(ctx context.Context, a *facegate.Alert) error {
	if a.ID == "" {
		a.ID = newID("alr_")
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now()
	}
	a.Status = facegate.AlertPending
	var probe any
	if len(a.Probe) > 0 {
		b, err := db.seal(encodeTemplate(a.Probe), alertAAD(a.ID))
		if err != nil {
			return fmt.Errorf("sqlite: add alert: %w", err)
		}
		probe = b
	}
	_, err := db.write.ExecContext(ctx, "INSERT INTO alerts(id, gallery_id, subject_id, stream_id, event_id, track, score, status, created_at, probe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		a.ID, a.GalleryID, a.SubjectID, a.StreamID, a.EventID, a.Track, a.Score, string(a.Status), a.CreatedAt.UnixNano(), probe)
	switch {
	case isForeignKey(err):
		return fmt.Errorf("sqlite: add alert: subject %s: %w", a.SubjectID, facegate.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: add alert: %w", err)
	}
	return nil
}

// Alert returns one alert (without its probe).
func (db *DB) Alert(ctx context.Context, id string) (*facegate.Alert, error) {
	var a facegate.Alert
	err := scanAlert(db.read.QueryRowContext(ctx, "SELECT "+alertCols+" FROM alerts WHERE id = ?", id), &a)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: alert %s: %w", id, facegate.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: alert %s: %w", id, err)
	}
	return &a, nil
}

// Alerts lists alerts newest first, filtered by status and gallery when not empty.
func (db *DB) Alerts(ctx context.Context, status facegate.AlertStatus, galleryID string, limit int) ([]facegate.Alert, error) {
	if limit <= 0 || limit > maxLimit {
		limit = defaultLimit
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+alertCols+` FROM alerts WHERE (? = '' OR status = ?) AND (? = '' OR gallery_id = ?)
	ORDER BY created_at DESC, id DESC LIMIT ?`, string(status), string(status), galleryID, galleryID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	defer rows.Close()
	out := []facegate.Alert{}
	for rows.Next() {
		var a facegate.Alert
		if err := scanAlert(rows, &a); err != nil {
			return nil, fmt.Errorf("sqlite: alerts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	return out, nil
}

// ReviewAlert records the decision on a pending alert and erases its probe; a rejection keeps the probe as a
// negative exemplar of the subject until negativeUntil. All in one transaction.
func (db *DB) ReviewAlert(ctx context.Context, id string, status facegate.AlertStatus, by, note string, at, negativeUntil time.Time) (*facegate.Alert, error) {
	if status != facegate.AlertConfirmed && status != facegate.AlertRejected {
		return nil, fmt.Errorf("sqlite: review alert %s: decision %q: %w", id, status, facegate.ErrInvalid)
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var cur, gid, sid string
		var probe []byte
		err := tx.QueryRowContext(ctx, "SELECT status, gallery_id, subject_id, probe FROM alerts WHERE id = ?", id).Scan(&cur, &gid, &sid, &probe)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("alert %s: %w", id, facegate.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if facegate.AlertStatus(cur) != facegate.AlertPending {
			return fmt.Errorf("alert %s was already %s: %w", id, cur, facegate.ErrConflict)
		}
		if status == facegate.AlertRejected && len(probe) > 0 {
			if _, err := tx.ExecContext(ctx, "INSERT INTO negatives(id, gallery_id, subject_id, alert_id, template, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				newID("neg_"), gid, sid, id, probe, at.UnixNano(), negativeUntil.UnixNano()); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE alerts SET status = ?, reviewed_by = ?, reviewed_at = ?, note = ?, probe = NULL WHERE id = ?",
			string(status), by, at.UnixNano(), note, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: review alert: %w", err)
	}
	return db.Alert(ctx, id)
}

// Negatives lists the subject's negative exemplars that have not expired at t.
func (db *DB) Negatives(ctx context.Context, galleryID, subjectID string, t time.Time) ([]facegate.Negative, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT id, alert_id, template, created_at, expires_at FROM negatives
	WHERE gallery_id = ? AND subject_id = ? AND expires_at > ? ORDER BY created_at`, galleryID, subjectID, t.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("sqlite: negatives: %w", err)
	}
	defer rows.Close()
	var out []facegate.Negative
	for rows.Next() {
		n := facegate.Negative{GalleryID: galleryID, SubjectID: subjectID}
		var tmpl []byte
		var created, expires int64
		if err := rows.Scan(&n.ID, &n.AlertID, &tmpl, &created, &expires); err != nil {
			return nil, fmt.Errorf("sqlite: negatives: %w", err)
		}
		// A negative exemplar is its alert's probe, sealed for the alert's row.
		if n.Template, err = db.openTemplate(tmpl, alertAAD(n.AlertID)); err != nil {
			return nil, fmt.Errorf("sqlite: negatives: %w", err)
		}
		n.CreatedAt, n.ExpiresAt = fromNanos(created), fromNanos(expires)
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: negatives: %w", err)
	}
	return out, nil
}

// SetAlertEvent records the event that announced the alert.
func (db *DB) SetAlertEvent(ctx context.Context, id, eventID string) error {
	if _, err := db.write.ExecContext(ctx, "UPDATE alerts SET event_id = ? WHERE id = ?", eventID, id); err != nil {
		return fmt.Errorf("sqlite: alert %s: %w", id, err)
	}
	return nil
}
