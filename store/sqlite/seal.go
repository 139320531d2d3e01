package sqlite

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/facegate/facegate/protect"
)

// The sealed marker: the setting sealSetting holds, sealed under the keyring (so that nobody without the key can
// write one that lets values in clear in), "migrating" while SealStore seals the store and "sealed" after.
const (
	sealSetting   = "template_seal"
	sealMigrating = "migrating"
	sealDone      = "sealed"
	// sourceKeySetting holds the key of the keyed image hashes (SourceHash), sealed under the keyring.
	sourceKeySetting = "source_hash_key"
)

// loadSealState sets the state from the marker's presence: a store with a marker is sealed until SealStore
// (which can open it) says otherwise, so without a key nothing of it reads, plaintext rows included.
func (db *DB) loadSealState(ctx context.Context) error {
	v, err := db.Setting(ctx, sealSetting)
	if err != nil {
		return err
	}
	if v != "" {
		db.state.Store(stateSealed)
	}
	return nil
}

// readMarker returns the state the marker records. A marker that does not open (garbage, or sealed under a key
// the keyring lacks) counts as sealed: the strict reading is the safe one.
func (db *DB) readMarker(ctx context.Context, k *protect.Keyring) (int32, error) {
	v, err := db.Setting(ctx, sealSetting)
	if err != nil || v == "" {
		return stateLegacy, err
	}
	b, err := hex.DecodeString(v)
	if err != nil {
		return stateSealed, nil
	}
	p, err := k.Open(b, []byte(bind("settings", sealSetting)))
	if err == nil && string(p) == sealMigrating {
		return stateMigrating, nil
	}
	return stateSealed, nil
}

// writeSealedSetting seals value under the active key and stores it as the setting key.
func (db *DB) writeSealedSetting(ctx context.Context, k *protect.Keyring, key string, value []byte) error {
	b, err := k.Seal(value, []byte(bind("settings", key)))
	if err != nil {
		return err
	}
	return db.SetSetting(ctx, key, hex.EncodeToString(b))
}

// SealStore seals the store with the keyring (SetKeyring first): values stored in clear are sealed, values
// sealed in the previous format (bound to the face id only) are rebound to their face, gallery and subject, and
// the store is marked sealed, after which a value in clear or in the previous format is refused. It is a no-op
// on a sealed store, and safe to run again after an interruption (the marker then says "migrating"). It returns
// how many values it changed. A store without a marker that already holds values sealed in the current format
// was sealed before and lost its marker (someone deleted it): it is marked sealed again and nothing in clear is
// sealed. 'facegate serve' and 'facegate keys rotate' call it.
func (db *DB) SealStore(ctx context.Context) (int, error) {
	k := db.keys.Load()
	if k == nil {
		return 0, fmt.Errorf("sqlite: seal store: %w", ErrNoTemplateKey)
	}
	st, err := db.readMarker(ctx, k)
	if err != nil {
		return 0, fmt.Errorf("sqlite: seal store: %w", err)
	}
	if st == stateLegacy {
		bound, err := db.anyBound(ctx, k)
		if err != nil {
			return 0, fmt.Errorf("sqlite: seal store: %w", err)
		}
		if bound {
			st = stateSealed
		} else if err := db.writeSealedSetting(ctx, k, sealSetting, []byte(sealMigrating)); err != nil {
			return 0, fmt.Errorf("sqlite: seal store: %w", err)
		} else {
			st = stateMigrating
		}
	}
	n := 0
	if st == stateMigrating {
		db.state.Store(stateMigrating)
		if err := db.keySources(ctx, k); err != nil {
			return 0, fmt.Errorf("sqlite: seal store: image hashes: %w", err)
		}
		if n, err = db.resealAll(ctx, k, false, 500, nil); err != nil {
			return n, fmt.Errorf("sqlite: seal store: %w", err)
		}
	}
	if err := db.writeSealedSetting(ctx, k, sealSetting, []byte(sealDone)); err != nil {
		return n, fmt.Errorf("sqlite: seal store: %w", err)
	}
	db.state.Store(stateSealed)
	if n > 0 {
		if err := db.Checkpoint(ctx); err != nil { // the values in clear leave the WAL too
			return n, err
		}
	}
	return n, nil
}

// anyBound reports whether some face's template opens under the current binding.
func (db *DB) anyBound(ctx context.Context, k *protect.Keyring) (bool, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT id, gallery_id, subject_id, template FROM faces")
	if err != nil {
		return false, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, gid, sid string
		var b []byte
		if err := rows.Scan(&id, &gid, &sid, &b); err != nil {
			return false, err
		}
		if !protect.IsSealed(b) {
			continue
		}
		if _, err := k.Open(b, []byte(faceBinding(id, gid, sid).cur)); err == nil {
			return true, nil
		}
	}
	return false, rows.Err()
}

// RotateTemplates brings every sealed value under the keyring's active key: it seals the store first if it is
// not sealed yet (SealStore), then re-seals the rows sealed under an older key and leaves the rows already under
// the active key alone. It works in transactions of batch rows, so the store stays usable (by this process or
// a server sharing the file) while it runs; progress, when not nil, is called after each batch. It returns how
// many values it changed. A row that does not open (tampered, or in clear in a sealed store) stops it with an
// error naming the row.
func (db *DB) RotateTemplates(ctx context.Context, batch int, progress func(done int)) (int, error) {
	k := db.keys.Load()
	if k == nil {
		return 0, fmt.Errorf("sqlite: rotate templates: %w", ErrNoTemplateKey)
	}
	n, err := db.SealStore(ctx)
	if err != nil {
		return n, err
	}
	m, err := db.resealAll(ctx, k, true, batch, progress)
	if err != nil {
		return n + m, fmt.Errorf("sqlite: rotate templates: %w", err)
	}
	// The marker and the image hash key come under the active key too.
	if err := db.writeSealedSetting(ctx, k, sealSetting, []byte(sealDone)); err != nil {
		return n + m, fmt.Errorf("sqlite: rotate templates: %w", err)
	}
	if key, err := db.sourceKey(ctx, k, false); err != nil {
		return n + m, fmt.Errorf("sqlite: rotate templates: %w", err)
	} else if key != nil {
		if err := db.writeSealedSetting(ctx, k, sourceKeySetting, key); err != nil {
			return n + m, fmt.Errorf("sqlite: rotate templates: %w", err)
		}
	}
	if m > 0 {
		if err := db.Checkpoint(ctx); err != nil { // the old ciphertexts leave the WAL too
			return n + m, err
		}
	}
	return n + m, nil
}

// sealedColumn names a column that holds sealed values, the columns its binding is made of and the binding.
type sealedColumn struct {
	table, col string
	bindCols   string
	bind       func(v []string) binding
	text       bool // a TEXT column: sealed values are sealedTextPrefix and base64
}

var sealedColumns = []sealedColumn{
	{"faces", "template", "id, gallery_id, subject_id", func(v []string) binding { return faceBinding(v[0], v[1], v[2]) }, false},
	{"faces", "thumbnail", "id, gallery_id, subject_id", func(v []string) binding { return thumbBinding(v[0], v[1], v[2]) }, false},
	{"alerts", "probe", "id", func(v []string) binding { return alertBinding(v[0]) }, false},
	{"match_crops", "jpeg", "event_id", func(v []string) binding { return cropBinding(v[0]) }, false},
	// A negative exemplar holds its alert's probe, sealed for the alert.
	{"negatives", "template", "alert_id", func(v []string) binding { return alertBinding(v[0]) }, false},
	{"streams", "config", "id", func(v []string) binding { return streamBinding(v[0]) }, true},
}

// resealAll runs resealBatch over every sealed column; strict refuses values in clear and in the previous format
// (a sealed store), otherwise they are sealed and rebound (the migration).
func (db *DB) resealAll(ctx context.Context, k *protect.Keyring, strict bool, batch int, progress func(done int)) (int, error) {
	if batch <= 0 {
		batch = 500
	}
	changed := 0
	for _, c := range sealedColumns {
		last := int64(0)
		for {
			n, next, err := db.resealBatch(ctx, k, c, strict, last, batch)
			if err != nil {
				return changed, fmt.Errorf("%s.%s: %w", c.table, c.col, err)
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
	return changed, nil
}

// resealBatch reseals up to batch values of column c in rows after rowid last, in one transaction; it returns
// how many changed and the last rowid seen (== last when there were none).
func (db *DB) resealBatch(ctx context.Context, k *protect.Keyring, c sealedColumn, strict bool, last int64, batch int) (int, int64, error) {
	n, next := 0, last
	nb := len(strings.Split(c.bindCols, ","))
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT rowid, "+c.bindCols+", "+c.col+" FROM "+c.table+" WHERE rowid > ? AND "+c.col+
			" IS NOT NULL ORDER BY rowid LIMIT ?", last, batch)
		if err != nil {
			return err
		}
		type upd struct {
			rowid int64
			val   any
		}
		var ups []upd
		for rows.Next() {
			var rowid int64
			bindVals := make([]string, nb)
			var val []byte
			dest := []any{&rowid}
			for i := range bindVals {
				dest = append(dest, &bindVals[i])
			}
			if err := rows.Scan(append(dest, &val)...); err != nil {
				rows.Close()
				return err
			}
			next = rowid
			blob := val
			if c.text {
				if blob, err = textBlob(string(val)); err != nil {
					rows.Close()
					return fmt.Errorf("row %s: %w", bindVals[0], err)
				}
			}
			out, changed, err := reseal(k, blob, c.bind(bindVals), strict)
			if err != nil {
				rows.Close()
				return fmt.Errorf("row %s: %w", bindVals[0], err)
			}
			if changed {
				var v any = out
				if c.text {
					v = sealedTextPrefix + base64.StdEncoding.EncodeToString(out)
				}
				ups = append(ups, upd{rowid, v})
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

// reseal brings one stored value under the active key and the current binding. strict (a sealed store) refuses
// values in clear and leaves values already under the active key unopened; otherwise (the migration) a value in
// clear is sealed, and every sealed one is opened, by the current binding or the previous one, and sealed again
// unless it is already under the active key in the current binding.
func reseal(k *protect.Keyring, b []byte, bd binding, strict bool) ([]byte, bool, error) {
	cur := []byte(bd.cur)
	if !protect.IsSealed(b) {
		if strict {
			return nil, false, ErrNotSealed
		}
		out, err := k.Seal(b, cur)
		return out, err == nil, err
	}
	if strict {
		return k.Reseal(b, cur)
	}
	p, err := k.Open(b, cur)
	if err == nil {
		if id, _ := protect.SealedKeyID(b); id == k.ActiveID() {
			return b, false, nil
		}
	} else if bd.legacy != "" && errors.Is(err, protect.ErrAuthFailed) {
		p, err = k.Open(b, []byte(bd.legacy))
	}
	if err != nil {
		return nil, false, err
	}
	out, err := k.Seal(p, cur)
	return out, err == nil, err
}

// sourceKey returns the key of the keyed image hashes: the stored one opened, or with create a new random one
// stored sealed; nil when there is none and create is false.
func (db *DB) sourceKey(ctx context.Context, k *protect.Keyring, create bool) ([]byte, error) {
	if key := db.srcKey.Load(); key != nil {
		return *key, nil
	}
	v, err := db.Setting(ctx, sourceKeySetting)
	if err != nil {
		return nil, err
	}
	var key []byte
	if v != "" {
		b, err := hex.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("image hash key: %w", protect.ErrMalformed)
		}
		if key, err = k.Open(b, []byte(bind("settings", sourceKeySetting))); err != nil {
			return nil, fmt.Errorf("image hash key: %w", err)
		}
	} else {
		if !create {
			return nil, nil
		}
		key = make([]byte, 32)
		_, _ = rand.Read(key)
		if err := db.writeSealedSetting(ctx, k, sourceKeySetting, key); err != nil {
			return nil, err
		}
	}
	db.srcKey.Store(&key)
	return key, nil
}

// keySources creates the image hash key, unless there is one, and in the same transaction replaces every
// stored plain SHA-256 by its keyed hash (which needs only the SHA-256, not the image), so that faces enrolled
// before the key are no more confirmable than later ones and are still recognised when sent again. Creating
// the key and rekeying together makes it safe to resume: a store that has the key has keyed hashes.
func (db *DB) keySources(ctx context.Context, k *protect.Keyring) error {
	if v, err := db.Setting(ctx, sourceKeySetting); err != nil || v != "" {
		return err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealed, err := k.Seal(key, []byte(bind("settings", sourceKeySetting)))
	if err != nil {
		return err
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO settings(key, value) VALUES (?, ?)", sourceKeySetting, hex.EncodeToString(sealed)); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT rowid, source FROM faces WHERE source <> ''")
		if err != nil {
			return err
		}
		type upd struct {
			rowid  int64
			source string
		}
		var ups []upd
		for rows.Next() {
			var u upd
			if err := rows.Scan(&u.rowid, &u.source); err != nil {
				rows.Close()
				return err
			}
			if sum, err := hex.DecodeString(u.source); err == nil && len(sum) == sha256.Size {
				ups = append(ups, upd{u.rowid, keyedHash(key, sum)})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, u := range ups {
			if _, err := tx.ExecContext(ctx, "UPDATE faces SET source = ? WHERE rowid = ?", u.source, u.rowid); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		db.srcKey.Store(&key)
	}
	return err
}

// keyedHash is HMAC-SHA256 of an image's SHA-256 under the image hash key, in hex.
func keyedHash(key, sum []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(sum)
	return hex.EncodeToString(m.Sum(nil))
}

// SourceHash is what the store keeps of an enrolment image: its SHA-256 in hex without a keyring; with one,
// HMAC-SHA256 of that SHA-256 under a random key kept sealed in the store (created by SealStore, which rekeys
// the hashes stored before, or on first use), so that nobody with the database alone can tell whether a photo
// they hold was enrolled. Rotation keeps the key, so an image sent again after a rotation is still recognised
// as a duplicate.
func (db *DB) SourceHash(ctx context.Context, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	k := db.keys.Load()
	if k == nil {
		return hex.EncodeToString(sum[:]), nil
	}
	key, err := db.sourceKey(ctx, k, true)
	if err != nil {
		return "", fmt.Errorf("sqlite: source hash: %w", err)
	}
	return keyedHash(key, sum[:]), nil
}
