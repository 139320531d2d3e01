package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/facegate/facegate/protect"
)

// Templates at rest: with a keyring (SetKeyring), every template (and every watchlist alert's probe) is sealed
// with AES-256-GCM under the active key, bound to its row by the additional data ("face:<id>", "alert:<id>"),
// so a ciphertext copied to another row does not open. Rows written without a keyring stay readable (plaintext
// is told apart by the envelope's magic prefix) and RotateTemplates seals them. The keyring lives outside the
// data directory; without it a sealed store's templates cannot be read.

// ErrNoTemplateKey is returned when a sealed template is read without a keyring.
var ErrNoTemplateKey = errors.New("templates are encrypted at rest; start with the template key (--template-key or $FACEGATE_TEMPLATE_KEYS)")

// SetKeyring sets (or, with nil, clears) the keys templates are sealed and opened with. Safe to call while the
// store is in use, e.g. to load a rotated key file.
func (db *DB) SetKeyring(k *protect.Keyring) { db.keys.Store(k) }

// Encrypted reports whether the store has template keys.
func (db *DB) Encrypted() bool { return db.keys.Load() != nil }

func faceAAD(id string) string  { return "face:" + id }
func alertAAD(id string) string { return "alert:" + id }
func thumbAAD(id string) string { return "thumb:" + id }
func cropAAD(id string) string  { return "crop:" + id }

// seal seals a stored value (template, image) when a keyring is set, bound to its row by aad.
func (db *DB) seal(b []byte, aad string) ([]byte, error) {
	k := db.keys.Load()
	if k == nil {
		return b, nil
	}
	return k.Seal(b, []byte(aad))
}

// open returns a stored value in clear: a sealed one is opened, a plaintext one (a row written without a
// keyring) is returned as it is.
func (db *DB) open(b []byte, aad string) ([]byte, error) {
	if !protect.IsSealed(b) {
		return b, nil
	}
	k := db.keys.Load()
	if k == nil {
		return nil, ErrNoTemplateKey
	}
	return k.Open(b, []byte(aad))
}

// openTemplate decodes a stored template, opening it first when it is sealed.
func (db *DB) openTemplate(b []byte, aad string) ([]float32, error) {
	b, err := db.open(b, aad)
	if err != nil {
		return nil, err
	}
	return decodeTemplate(b)
}

// RotateTemplates brings every stored template and alert probe under the keyring's active key: plaintext rows
// are sealed, rows sealed under an older key are opened and sealed again, rows already under the active key
// are left alone. It works in transactions of batch rows, so the store stays usable (by this process or a
// server sharing the file) while it runs; progress, when not nil, is called after each batch. It returns how
// many rows it changed.
func (db *DB) RotateTemplates(ctx context.Context, batch int, progress func(done int)) (int, error) {
	k := db.keys.Load()
	if k == nil {
		return 0, fmt.Errorf("sqlite: rotate templates: %w", ErrNoTemplateKey)
	}
	if batch <= 0 {
		batch = 500
	}
	changed := 0
	// Each sealed column, the column whose value binds it to its row, and that binding's prefix. A negative
	// exemplar holds its alert's probe, sealed for the alert.
	for _, c := range []sealedColumn{
		{"faces", "template", "id", "face:"},
		{"faces", "thumbnail", "id", "thumb:"},
		{"alerts", "probe", "id", "alert:"},
		{"match_crops", "jpeg", "event_id", "crop:"},
		{"negatives", "template", "alert_id", "alert:"},
	} {
		last := int64(0)
		for {
			n, next, err := db.rotateBatch(ctx, k, c, last, batch)
			if err != nil {
				return changed, fmt.Errorf("sqlite: rotate %s.%s: %w", c.table, c.col, err)
			}
			changed += n
			if progress != nil {
				progress(changed)
			}
			if next == last {
				break
			}
			last = next
		}
	}
	if changed > 0 {
		if err := db.Checkpoint(ctx); err != nil { // the old ciphertexts leave the WAL too
			return changed, err
		}
	}
	return changed, nil
}

// sealedColumn names a column that holds sealed values.
type sealedColumn struct{ table, col, aadCol, aadPrefix string }

// rotateBatch reseals up to batch values of column c in rows after rowid last, in one transaction; it returns
// how many changed and the last rowid seen (== last when there were none).
func (db *DB) rotateBatch(ctx context.Context, k *protect.Keyring, c sealedColumn, last int64, batch int) (int, int64, error) {
	n, next := 0, last
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT rowid, "+c.aadCol+", "+c.col+" FROM "+c.table+" WHERE rowid > ? AND "+c.col+
			" IS NOT NULL ORDER BY rowid LIMIT ?", last, batch)
		if err != nil {
			return err
		}
		type upd struct {
			rowid int64
			val   []byte
		}
		var ups []upd
		for rows.Next() {
			var rowid int64
			var bind string
			var val []byte
			if err := rows.Scan(&rowid, &bind, &val); err != nil {
				rows.Close()
				return err
			}
			next = rowid
			out, changed, err := k.Reseal(val, []byte(c.aadPrefix+bind))
			if err != nil {
				rows.Close()
				return fmt.Errorf("row %d: %w", rowid, err)
			}
			if changed {
				ups = append(ups, upd{rowid, out})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, "UPDATE "+c.table+" SET "+c.col+" = ? WHERE rowid = ?", u.val, u.rowid); err != nil {
				return err
			}
		}
		n = len(ups)
		return nil
	})
	return n, next, err
}

// Setting returns a deployment setting ("" when unset).
func (db *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := db.read.QueryRowContext(ctx, "SELECT value FROM settings WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting stores a deployment setting.
func (db *DB) SetSetting(ctx context.Context, key, value string) error {
	if _, err := db.exec(ctx, "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value); err != nil {
		return fmt.Errorf("sqlite: set %s: %w", key, err)
	}
	return nil
}
