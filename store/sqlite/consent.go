package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

const consentCols = "id, gallery_id, subject_id, given_by, guardian, purposes, evidence, recorded_by, given_at, expires_at, withdrawn_at"

func scanConsent(r scanner, c *facegate.Consent) error {
	var guardian int
	var purposes string
	var given, expires, withdrawn int64
	if err := r.Scan(&c.ID, &c.GalleryID, &c.SubjectID, &c.GivenBy, &guardian, &purposes, &c.Evidence, &c.RecordedBy,
		&given, &expires, &withdrawn); err != nil {
		return err
	}
	c.Guardian = guardian != 0
	if err := json.Unmarshal([]byte(purposes), &c.Purposes); err != nil {
		return fmt.Errorf("consent %s: purposes: %w", c.ID, err)
	}
	c.GivenAt = fromNanos(given)
	c.ExpiresAt, c.WithdrawnAt = time.Time{}, time.Time{}
	if expires != 0 {
		c.ExpiresAt = fromNanos(expires)
	}
	if withdrawn != 0 {
		c.WithdrawnAt = fromNanos(withdrawn)
	}
	return nil
}

func nanosOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// insertConsent stores c for subject (gid, sid) inside tx, filling its ID and GivenAt when empty.
func insertConsent(ctx context.Context, tx *sql.Tx, c *facegate.Consent, gid, sid string, t time.Time) error {
	if err := c.Check(); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = newID("con_")
	}
	if c.GivenAt.IsZero() {
		c.GivenAt = t
	}
	c.GalleryID, c.SubjectID = gid, sid
	purposes, err := json.Marshal(c.Purposes)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO consents("+consentCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
		c.ID, gid, sid, c.GivenBy, boolInt(c.Guardian), string(purposes), c.Evidence, c.RecordedBy, c.GivenAt.UnixNano(),
		nanosOrZero(c.ExpiresAt))
	switch {
	case isForeignKey(err):
		return notFound("subject", sid)
	case isUnique(err):
		return conflict("consent %q exists", c.ID)
	}
	return err
}

// checkConsent returns nil when subject (gid, sid) may have faces at time t: its gallery is exempt from consent,
// or one of its consents covers the gallery's purpose (given by a guardian for a minor). Otherwise ErrConsent.
func checkConsent(ctx context.Context, tx *sql.Tx, gid, sid string, t time.Time) error {
	var purpose string
	var exempt, minor int
	err := tx.QueryRowContext(ctx, `SELECT g.purpose, g.consent_exempt, s.minor FROM subjects s JOIN galleries g ON g.id = s.gallery_id
	WHERE s.id = ? AND s.gallery_id = ?`, sid, gid).Scan(&purpose, &exempt, &minor)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("subject", sid)
	}
	if err != nil || exempt != 0 {
		return err
	}
	rows, err := tx.QueryContext(ctx, "SELECT "+consentCols+" FROM consents WHERE gallery_id = ? AND subject_id = ?", gid, sid)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c facegate.Consent
		if err := scanConsent(rows, &c); err != nil {
			return err
		}
		if c.Covers(facegate.Purpose(purpose), minor != 0, t) {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	who := "the subject"
	if minor != 0 {
		who = "a guardian of this minor"
	}
	return fmt.Errorf("subject %s: no consent from %s in force for purpose %s: %w", sid, who, purpose, facegate.ErrConsent)
}

// AddConsent records a consent of an existing subject of the consent's gallery.
func (db *DB) AddConsent(ctx context.Context, c *facegate.Consent) error {
	t := now()
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := insertConsent(ctx, tx, c, c.GalleryID, c.SubjectID, t); err != nil {
			return err
		}
		audit.Note(ctx, "created", c.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: add consent: %w", err)
	}
	return nil
}

// Consents lists a subject's consent records, withdrawn ones included, oldest first.
func (db *DB) Consents(ctx context.Context, galleryID, subjectID string) ([]facegate.Consent, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+consentCols+" FROM consents WHERE gallery_id = ? AND subject_id = ? ORDER BY given_at, id",
		galleryID, subjectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: consents: %w", err)
	}
	defer rows.Close()
	out := []facegate.Consent{}
	for rows.Next() {
		var c facegate.Consent
		if err := scanConsent(rows, &c); err != nil {
			return nil, fmt.Errorf("sqlite: consents: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: consents: %w", err)
	}
	return out, nil
}

// WithdrawConsent marks the consent withdrawn at t and, in the same transaction, deletes the subject's faces
// (templates and thumbnails) and match crops when nothing else allows them any more. Withdrawing a consent
// twice is not an error (the first time stands). It returns the IDs of the deleted faces.
func (db *DB) WithdrawConsent(ctx context.Context, galleryID, subjectID, consentID string, t time.Time) ([]string, error) {
	var erased []string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var withdrawn int64
		err := tx.QueryRowContext(ctx, "SELECT withdrawn_at FROM consents WHERE id = ? AND gallery_id = ? AND subject_id = ?",
			consentID, galleryID, subjectID).Scan(&withdrawn)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("consent", consentID)
		}
		if err != nil {
			return err
		}
		if withdrawn == 0 {
			if _, err := tx.ExecContext(ctx, "UPDATE consents SET withdrawn_at = ? WHERE id = ?", t.UnixNano(), consentID); err != nil {
				return err
			}
		}
		if err := checkConsent(ctx, tx, galleryID, subjectID, t); !errors.Is(err, facegate.ErrConsent) {
			return err // still allowed (another consent, or an exempt gallery), or a real error
		}
		rows, err := tx.QueryContext(ctx, "DELETE FROM faces WHERE gallery_id = ? AND subject_id = ? RETURNING id", galleryID, subjectID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			erased = append(erased, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		audit.Note(ctx, "erased_faces", strconv.Itoa(len(erased)))
		_, err = tx.ExecContext(ctx, "DELETE FROM match_crops WHERE gallery_id = ? AND subject_id = ?", galleryID, subjectID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: withdraw consent %s: %w", consentID, err)
	}
	return erased, nil
}

// txConsents returns every consent record of gallery gid's subjects inside tx, by subject ID.
func txConsents(ctx context.Context, tx *sql.Tx, gid string) (map[string][]facegate.Consent, error) {
	rows, err := tx.QueryContext(ctx, "SELECT "+consentCols+" FROM consents WHERE gallery_id = ?", gid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]facegate.Consent{}
	for rows.Next() {
		var c facegate.Consent
		if err := scanConsent(rows, &c); err != nil {
			return nil, err
		}
		out[c.SubjectID] = append(out[c.SubjectID], c)
	}
	return out, rows.Err()
}
