package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

const alertCols = "id, gallery_id, subject_id, stream_id, event_id, track, score, status, created_at, reviewed_by, reviewed_at, note, sightings, first_seen, last_seen"

func scanAlert(r scanner, a *facegate.Alert) error {
	var created, reviewed, first, last int64
	if err := r.Scan(&a.ID, &a.GalleryID, &a.SubjectID, &a.StreamID, &a.EventID, &a.Track, &a.Score, &a.Status, &created,
		&a.ReviewedBy, &reviewed, &a.Note, &a.Sightings, &first, &last); err != nil {
		return err
	}
	a.CreatedAt, a.FirstSeen, a.LastSeen, a.ReviewedAt = fromNanos(created), fromNanos(first), fromNanos(last), time.Time{}
	if reviewed != 0 {
		a.ReviewedAt = fromNanos(reviewed)
	}
	return nil
}

// RecordSighting attaches a watchlist match to the subject's open alert on the same stream, or stores a new
// pending alert (facegate.ReviewStore), in one transaction. A sighting joins an alert whose span [first_seen,
// last_seen] it falls within cooldown of, on either side: one stamped long before the alert began (a stream
// restarted after its media clock ran ahead, a clock stepped back) starts its own alert instead of being
// absorbed by one in its future. A confirmed alert absorbs sightings for one cool-down after its confirmation;
// a rejected one never.
func (db *DB) RecordSighting(ctx context.Context, a *facegate.Alert, cooldown time.Duration) (created, best bool, err error) {
	if a.LastSeen.IsZero() {
		a.LastSeen = now()
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		created, best = false, false
		var cur facegate.Alert
		err := scanAlert(tx.QueryRowContext(ctx, "SELECT "+alertCols+` FROM alerts
		WHERE gallery_id = ?1 AND subject_id = ?2 AND stream_id = ?5 AND (status = 'pending' OR (status = 'confirmed' AND reviewed_at >= ?3))
		AND last_seen >= ?3 AND first_seen <= ?4
		ORDER BY last_seen DESC, id DESC LIMIT 1`, a.GalleryID, a.SubjectID, a.LastSeen.Add(-cooldown).UnixNano(), a.LastSeen.Add(cooldown).UnixNano(), a.StreamID), &cur)
		if errors.Is(err, sql.ErrNoRows) {
			created, best = true, true
			return db.insertAlert(ctx, tx, a)
		}
		if err != nil {
			return err
		}
		cur.Sightings++
		if a.LastSeen.After(cur.LastSeen) {
			cur.LastSeen = a.LastSeen
		}
		if a.LastSeen.Before(cur.FirstSeen) {
			cur.FirstSeen = a.LastSeen
		}
		var probe any // NULL keeps the stored probe
		if a.Score > cur.Score {
			best = true
			cur.Score, cur.Track = a.Score, a.Track
			if cur.Status == facegate.AlertPending && len(a.Probe) > 0 {
				if probe, err = db.seal(encodeTemplate(a.Probe), alertBinding(cur.ID)); err != nil {
					return err
				}
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE alerts SET sightings = ?, first_seen = ?, last_seen = ?, score = ?, track = ?, probe = COALESCE(?, probe) WHERE id = ?",
			cur.Sightings, cur.FirstSeen.UnixNano(), cur.LastSeen.UnixNano(), cur.Score, cur.Track, probe, cur.ID)
		*a = cur
		return err
	})
	if err != nil {
		return false, false, fmt.Errorf("sqlite: record sighting: %w", err)
	}
	return created, best, nil
}

// insertAlert stores a new pending alert with its probe template.
func (db *DB) insertAlert(ctx context.Context, tx *sql.Tx, a *facegate.Alert) error {
	if a.ID == "" {
		a.ID = newID("alr_")
	}
	audit.Note(ctx, "created", a.ID)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now()
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = a.CreatedAt
	}
	if a.FirstSeen.IsZero() {
		a.FirstSeen = a.LastSeen
	}
	a.Status, a.Sightings = facegate.AlertPending, 1
	var probe any
	if len(a.Probe) > 0 {
		b, err := db.seal(encodeTemplate(a.Probe), alertBinding(a.ID))
		if err != nil {
			return err
		}
		probe = b
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO alerts(id, gallery_id, subject_id, stream_id, event_id, track, score, status, created_at, probe,
	sightings, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.GalleryID, a.SubjectID, a.StreamID, a.EventID, a.Track, a.Score, string(a.Status), a.CreatedAt.UnixNano(), probe,
		a.Sightings, a.FirstSeen.UnixNano(), a.LastSeen.UnixNano())
	if isForeignKey(err) {
		return fmt.Errorf("subject %s: %w", a.SubjectID, notFound("subject", a.SubjectID))
	}
	return err
}

// Alert returns one alert (without its probe).
func (db *DB) Alert(ctx context.Context, id string) (*facegate.Alert, error) {
	var a facegate.Alert
	err := scanAlert(db.read.QueryRowContext(ctx, "SELECT "+alertCols+" FROM alerts WHERE id = ?", id), &a)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: alert %s: %w", id, notFound("alert", id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: alert %s: %w", id, err)
	}
	return &a, nil
}

// Alerts lists alerts, newest sighting first, filtered by f.
func (db *DB) Alerts(ctx context.Context, f facegate.AlertFilter) ([]facegate.Alert, error) {
	limit := f.Limit
	if limit <= 0 || limit > maxLimit {
		limit = defaultLimit
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+alertCols+` FROM alerts WHERE (?1 = '' OR status = ?1) AND (?2 = '' OR gallery_id = ?2)
	AND (?3 = '' OR stream_id = ?3) AND (?4 = '' OR subject_id = ?4)
	ORDER BY last_seen DESC, id DESC LIMIT ?5`, string(f.Status), f.GalleryID, f.StreamID, f.SubjectID, limit)
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
// negative exemplar of the subject until negativeUntil, unless the subject already has maxNegatives in force.
// All in one transaction.
func (db *DB) ReviewAlert(ctx context.Context, id string, status facegate.AlertStatus, by, note string, at, negativeUntil time.Time) (*facegate.Alert, error) {
	if status != facegate.AlertConfirmed && status != facegate.AlertRejected {
		return nil, fmt.Errorf("sqlite: review alert %s: %w", id, invalid("a review decides confirmed or rejected, not %q", status))
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var cur, gid, sid string
		var probe []byte
		err := tx.QueryRowContext(ctx, "SELECT status, gallery_id, subject_id, probe FROM alerts WHERE id = ?", id).Scan(&cur, &gid, &sid, &probe)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("alert %s: %w", id, notFound("alert", id))
		}
		if err != nil {
			return err
		}
		if facegate.AlertStatus(cur) != facegate.AlertPending {
			return conflict("alert %s was already %s", id, cur)
		}
		remember := status == facegate.AlertRejected && len(probe) > 0
		if remember {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM negatives WHERE gallery_id = ? AND subject_id = ? AND expires_at > ?",
				gid, sid, at.UnixNano()).Scan(&n); err != nil {
				return err
			}
			remember = n < maxNegatives
		}
		if remember {
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

// maxNegatives bounds the negative exemplars in force per subject. Every match of the subject reads and
// decrypts all of them, so without a bound an operator looping "search, reject" would slow each match until
// searches and stream decisions time out and the person raises no alert. A rejection beyond it is recorded as
// a decision but remembers no capture: it suppresses nothing, the safe side for a watchlist.
const maxNegatives = 100

// Negatives lists the subject's negative exemplars that have not expired at t.
func (db *DB) Negatives(ctx context.Context, galleryID, subjectID string, t time.Time) ([]facegate.Negative, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT n.id, n.alert_id, n.template, n.created_at, n.expires_at,
	COALESCE(a.reviewed_by, ''), COALESCE(a.note, ''), COALESCE(a.score, 0)
	FROM negatives n LEFT JOIN alerts a ON a.id = n.alert_id
	WHERE n.gallery_id = ? AND n.subject_id = ? AND n.expires_at > ? ORDER BY n.created_at, n.id`, galleryID, subjectID, t.UnixNano())
	if err != nil {
		return nil, fmt.Errorf("sqlite: negatives: %w", err)
	}
	defer rows.Close()
	var out []facegate.Negative
	for rows.Next() {
		n := facegate.Negative{GalleryID: galleryID, SubjectID: subjectID}
		var tmpl []byte
		var created, expires int64
		if err := rows.Scan(&n.ID, &n.AlertID, &tmpl, &created, &expires, &n.ReviewedBy, &n.Note, &n.Score); err != nil {
			return nil, fmt.Errorf("sqlite: negatives: %w", err)
		}
		// A negative exemplar is its alert's probe, sealed for the alert's row.
		if n.Template, err = db.openTemplate(tmpl, alertBinding(n.AlertID)); err != nil {
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
	if _, err := db.exec(ctx, "UPDATE alerts SET event_id = ? WHERE id = ?", eventID, id); err != nil {
		return fmt.Errorf("sqlite: alert %s: %w", id, err)
	}
	return nil
}

// DeleteNegative erases one negative exemplar of the subject (undoing a rejection).
func (db *DB) DeleteNegative(ctx context.Context, galleryID, subjectID, id string) error {
	res, err := db.exec(ctx, "DELETE FROM negatives WHERE id = ? AND gallery_id = ? AND subject_id = ?", id, galleryID, subjectID)
	if err != nil {
		return fmt.Errorf("sqlite: delete rejection %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: rejection %s: %w", id, notFound("rejection", id))
	}
	return nil
}

// OverdueWatch lists watchlist subjects whose review date is before t (facegate.ReviewStore).
func (db *DB) OverdueWatch(ctx context.Context, galleryID string, t time.Time, limit int) ([]facegate.Subject, error) {
	if limit <= 0 || limit > maxLimit {
		limit = defaultLimit
	}
	// review_at is stored inside the watch JSON; the entries of watchlist galleries are few, so they are read and
	// filtered here (at most maxWatchScan rows).
	rows, err := db.read.QueryContext(ctx, "SELECT "+prefixed("s.", subjectCols)+` FROM subjects s JOIN galleries g ON g.id = s.gallery_id
	WHERE s.watch IS NOT NULL AND g.purpose = 'watchlist' AND (? = '' OR s.gallery_id = ?) ORDER BY s.id LIMIT ?`, galleryID, galleryID, maxWatchScan)
	if err != nil {
		return nil, fmt.Errorf("sqlite: overdue watchlist entries: %w", err)
	}
	defer rows.Close()
	out := []facegate.Subject{}
	for rows.Next() {
		var sub facegate.Subject
		if err := scanSubject(rows, &sub); err != nil {
			return nil, fmt.Errorf("sqlite: overdue watchlist entries: %w", err)
		}
		if sub.Watch != nil && !sub.Watch.ReviewAt.IsZero() && sub.Watch.ReviewAt.Before(t) {
			out = append(out, sub)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: overdue watchlist entries: %w", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Watch.ReviewAt.Before(out[j].Watch.ReviewAt) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// maxWatchScan bounds the watchlist entries OverdueWatch reads.
const maxWatchScan = 100_000

// prefixed qualifies each column of a comma-separated list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i := range parts {
		parts[i] = p + parts[i]
	}
	return strings.Join(parts, ", ")
}
