package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/facegate/facegate"
)

const galleryCols = "id, name, description, threshold, fmr, no_thumbnails, purpose, consent_exempt, legal_basis, retention_days, created_at, updated_at"

type scanner interface{ Scan(dest ...any) error }

func scanGallery(r scanner, g *facegate.Gallery) error {
	var noThumbs, consent int
	var created, updated int64
	if err := r.Scan(&g.ID, &g.Name, &g.Description, &g.Threshold, &g.FMR, &noThumbs, &g.Purpose, &consent, &g.LegalBasis,
		&g.RetentionDays, &created, &updated); err != nil {
		return err
	}
	g.NoThumbnails, g.ConsentExempt = noThumbs != 0, consent != 0
	g.CreatedAt, g.UpdatedAt = fromNanos(created), fromNanos(updated)
	return nil
}

// CreateGallery stores a new gallery, generating its ID when empty and setting CreatedAt and UpdatedAt. A
// taken name or ID is ErrConflict.
func (db *DB) CreateGallery(ctx context.Context, g *facegate.Gallery) error {
	if g.Name == "" {
		return errors.New("sqlite: create gallery: empty name")
	}
	if err := g.Check(); err != nil {
		return fmt.Errorf("sqlite: create gallery %q: %w", g.Name, err)
	}
	id := g.ID
	if id == "" {
		id = newID("gal_")
	}
	t := now()
	_, err := db.execCreated(ctx, id, "INSERT INTO galleries("+galleryCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		id, g.Name, g.Description, g.Threshold, g.FMR, boolInt(g.NoThumbnails), string(g.Purpose), boolInt(g.ConsentExempt),
		g.LegalBasis, g.RetentionDays, t.UnixNano(), t.UnixNano())
	if isUnique(err) {
		return fmt.Errorf("sqlite: create gallery: %w", conflict("a gallery named %q exists", g.Name))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create gallery %q: %w", g.Name, err)
	}
	g.ID, g.CreatedAt, g.UpdatedAt = id, t, t
	return nil
}

// Gallery returns the gallery with the given ID.
func (db *DB) Gallery(ctx context.Context, id string) (*facegate.Gallery, error) {
	var g facegate.Gallery
	err := scanGallery(db.read.QueryRowContext(ctx, "SELECT "+galleryCols+" FROM galleries WHERE id = ?", id), &g)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: %w", notFound("gallery", id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: gallery %s: %w", id, err)
	}
	return &g, nil
}

// Galleries lists every gallery, by name.
func (db *DB) Galleries(ctx context.Context) ([]facegate.Gallery, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+galleryCols+" FROM galleries ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("sqlite: galleries: %w", err)
	}
	defer rows.Close()
	out := []facegate.Gallery{}
	for rows.Next() {
		var g facegate.Gallery
		if err := scanGallery(rows, &g); err != nil {
			return nil, fmt.Errorf("sqlite: galleries: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: galleries: %w", err)
	}
	return out, nil
}

// UpdateGallery saves the gallery's name, description, threshold, FMR, NoThumbnails, purpose, consent exemption,
// legal basis and retention, sets UpdatedAt and reloads CreatedAt. Switching NoThumbnails on erases the
// thumbnails the gallery's faces already have, in the same transaction. A name another gallery has is
// ErrConflict; a new purpose that some of the gallery's subjects are not covered for is ErrPurposeNotCovered
// (checkPurposeChange), and a watchlist with minors ErrMinorOnWatchlist.
func (db *DB) UpdateGallery(ctx context.Context, g *facegate.Gallery) error {
	if g.Name == "" {
		return errors.New("sqlite: update gallery: empty name")
	}
	if err := g.Check(); err != nil {
		return fmt.Errorf("sqlite: update gallery %s: %w", g.ID, err)
	}
	t := now()
	var created int64
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if g.Purpose == facegate.PurposeWatchlist {
			var minors int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM subjects WHERE gallery_id = ? AND minor <> 0", g.ID).Scan(&minors); err != nil {
				return err
			}
			if minors > 0 {
				return fmt.Errorf("gallery %s: %w", g.ID, facegate.Userf(facegate.ErrMinorOnWatchlist,
					"the gallery holds %d minors and minors are never added to watchlists: remove them before making it a watchlist", minors))
			}
		}
		if err := checkPurposeChange(ctx, tx, g.ID, g.Purpose, t); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE galleries SET name = ?, description = ?, threshold = ?, fmr = ?,
	no_thumbnails = ?, purpose = ?, consent_exempt = ?, legal_basis = ?, retention_days = ?, updated_at = ? WHERE id = ? RETURNING created_at`,
			g.Name, g.Description, g.Threshold, g.FMR, boolInt(g.NoThumbnails), string(g.Purpose), boolInt(g.ConsentExempt),
			g.LegalBasis, g.RetentionDays, t.UnixNano(), g.ID).Scan(&created)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("gallery", g.ID)
		}
		if isUnique(err) {
			return fmt.Errorf("gallery %s: %w", g.ID, conflict("a gallery named %q exists", g.Name))
		}
		if err != nil || !g.NoThumbnails {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE faces SET thumbnail = NULL WHERE gallery_id = ? AND thumbnail IS NOT NULL", g.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: update gallery: %w", err)
	}
	g.CreatedAt, g.UpdatedAt = fromNanos(created), t
	return nil
}

// DeleteGallery removes the gallery with all its subjects, faces and match crops in one transaction.
func (db *DB) DeleteGallery(ctx context.Context, id string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		// Explicit rather than relying on the cascade alone, so the order (children first) is plain.
		if _, err := tx.ExecContext(ctx, "DELETE FROM faces WHERE gallery_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM match_crops WHERE gallery_id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM subjects WHERE gallery_id = ?", id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM galleries WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return notFound("gallery", id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete gallery %s: %w", id, err)
	}
	return nil
}

// checkPurposeChange refuses, inside tx, to change gallery gid's purpose to p at time t while any of its subjects
// is not covered for p (facegate.PurposeCovered): otherwise people who agreed to one use of their face (time
// and attendance) would be put to another (a watchlist) by an edit of the gallery. The error says how many
// subjects are not covered and what to do. Keeping the purpose, or an empty gallery, is always allowed.
func checkPurposeChange(ctx context.Context, tx *sql.Tx, gid string, p facegate.Purpose, t time.Time) error {
	var old string
	err := tx.QueryRowContext(ctx, "SELECT purpose FROM galleries WHERE id = ?", gid).Scan(&old)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("gallery", gid)
	}
	if err != nil || facegate.Purpose(old) == p {
		return err
	}
	subs, err := txSubjects(ctx, tx, gid)
	if err != nil {
		return err
	}
	consents, err := txConsents(ctx, tx, gid)
	if err != nil {
		return err
	}
	missing := 0
	for i := range subs {
		if !facegate.PurposeCovered(p, &subs[i], consents[subs[i].ID], t) {
			missing++
		}
	}
	if missing == 0 {
		return nil
	}
	fix := fmt.Sprintf("no consent in force that covers %s (for a minor, given by a guardian): record one for each "+
		"(POST .../subjects/{s}/consents with purposes [\"%s\"])", p, p)
	if p == facegate.PurposeWatchlist {
		fix = "no watch entry (a reason and a review date): give each one a " +
			"watch entry if the legal basis covers them (PATCH .../subjects/{s} with \"watch\")"
	}
	return fmt.Errorf("gallery %s: %w", gid, facegate.Userf(facegate.ErrPurposeNotCovered,
		"the purpose cannot change from %s to %s: %d of the gallery's %d subjects have %s, erase them, or create "+
			"a new gallery for the new purpose", old, p, missing, len(subs), fix))
}
