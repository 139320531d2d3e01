package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/protect"
)

// Values at rest: with a keyring (SetKeyring), every template, thumbnail, match crop, watchlist alert probe and
// stream configuration is sealed with AES-256-GCM under the active key, bound by the additional data to its row
// (a face's template and thumbnail to the face, its gallery and its subject), so a ciphertext copied to another
// row, or a face row moved to another subject, does not open. The keyring lives outside the data directory;
// without it a sealed store's values cannot be read.
//
// A store is sealed once SealStore has run with a keyring ('facegate serve' and 'facegate keys rotate' call it):
// it seals the values written before the key (plaintext rows) and rebinds those sealed by the previous format
// (bound to the face id only), then records a sealed marker in the settings. From then on a plaintext value or
// one in the previous format is refused (ErrNotSealed, ErrAuthFailed): only that explicit migration reads them.

// ErrNoTemplateKey is returned when a sealed value is read without a keyring.
var ErrNoTemplateKey = errors.New("templates are encrypted at rest; start with the template key (--template-key or $FACEGATE_TEMPLATE_KEYS)")

// ErrNotSealed is returned when a sealed store holds a value in clear: facegate did not write it (someone with
// write access to the database file did), so it is refused.
var ErrNotSealed = errors.New("a value is stored in clear in a sealed store: facegate did not write it (tampering?), so it is refused; delete the row or restore it from a backup")

// SetKeyring sets (or, with nil, clears) the keys templates are sealed and opened with. Safe to call while the
// store is in use, e.g. to load a rotated key file.
func (db *DB) SetKeyring(k *protect.Keyring) { db.keys.Store(k) }

// Encrypted reports whether the store has template keys.
func (db *DB) Encrypted() bool { return db.keys.Load() != nil }

// Sealed reports whether the store is sealed: every stored value must be sealed and bound, plaintext is refused.
func (db *DB) Sealed() bool { return db.state.Load() == stateSealed }

// The sealing states of a store.
const (
	stateLegacy    int32 = iota // never sealed: values in clear are read as they are
	stateMigrating              // SealStore is sealing it: values in clear and in the previous format still open
	stateSealed                 // sealed: only sealed values bound in the current format open
)

// binding is what a sealed value is bound to: cur, the additional data values are sealed with, and legacy, the
// one the previous format used ("" when it was the same), which opens only while the store is not sealed.
type binding struct{ cur, legacy string }

// bind builds the additional data of the current format: "facegate/v2/" and the kind, then each part with its
// length, so no two lists of parts give the same string.
func bind(kind string, parts ...string) string {
	var b strings.Builder
	b.WriteString("facegate/v2/")
	b.WriteString(kind)
	for _, p := range parts {
		fmt.Fprintf(&b, ";%d:%s", len(p), p)
	}
	return b.String()
}

func faceBinding(id, gid, sid string) binding {
	return binding{bind("face/template", id, gid, sid), "face:" + id}
}
func thumbBinding(id, gid, sid string) binding {
	return binding{bind("face/thumbnail", id, gid, sid), "thumb:" + id}
}
func alertBinding(id string) binding  { return binding{cur: "alert:" + id} }
func cropBinding(id string) binding   { return binding{cur: "crop:" + id} }
func streamBinding(id string) binding { return binding{cur: bind("stream/config", id)} }

// seal seals a stored value (template, image) when a keyring is set, bound to its row.
func (db *DB) seal(b []byte, bd binding) ([]byte, error) {
	k := db.keys.Load()
	if k == nil {
		return b, nil
	}
	return k.Seal(b, []byte(bd.cur))
}

// open returns a stored value in clear. A sealed value is opened; in a sealed store it must be bound in the
// current format, elsewhere the previous format opens too. A value in clear is refused by a sealed store and
// returned as it is by any other (a row written without a keyring).
func (db *DB) open(b []byte, bd binding) ([]byte, error) {
	k := db.keys.Load()
	sealed := db.state.Load() == stateSealed
	if !protect.IsSealed(b) {
		switch {
		case sealed && k == nil:
			return nil, ErrNoTemplateKey
		case sealed:
			return nil, ErrNotSealed
		}
		return b, nil
	}
	if k == nil {
		return nil, ErrNoTemplateKey
	}
	out, err := k.Open(b, []byte(bd.cur))
	if err != nil && !sealed && bd.legacy != "" && errors.Is(err, protect.ErrAuthFailed) {
		out, err = k.Open(b, []byte(bd.legacy))
	}
	return out, err
}

// openTemplate decodes a stored template, opening it first when it is sealed.
func (db *DB) openTemplate(b []byte, bd binding) ([]float32, error) {
	b, err := db.open(b, bd)
	if err != nil {
		return nil, err
	}
	return decodeTemplate(b)
}

// sealedTextPrefix starts a sealed value kept in a TEXT column (base64 of the envelope follows).
const sealedTextPrefix = "fgsealed:"

// sealText seals a value kept in a TEXT column when a keyring is set.
func (db *DB) sealText(s string, bd binding) (string, error) {
	if db.keys.Load() == nil {
		return s, nil
	}
	b, err := db.seal([]byte(s), bd)
	if err != nil {
		return "", err
	}
	return sealedTextPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// textBlob is the bytes of a TEXT column's value as open and the migration see them: the envelope of a sealed
// one, the text itself otherwise.
func textBlob(s string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(s, sealedTextPrefix); ok {
		b, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || !protect.IsSealed(b) {
			return nil, fmt.Errorf("%w: bad sealed text", protect.ErrMalformed)
		}
		return b, nil
	}
	return []byte(s), nil
}

// openText returns a value of a TEXT column in clear.
func (db *DB) openText(s string, bd binding) (string, error) {
	b, err := textBlob(s)
	if err != nil {
		return "", err
	}
	if b, err = db.open(b, bd); err != nil {
		return "", err
	}
	return string(b), nil
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

// valueError is a row whose stored value does not open or decode.
type valueError struct {
	kind, id, col string
	err           error
}

func (e *valueError) Error() string { return fmt.Sprintf("%s %s: %s: %v", e.kind, e.id, e.col, e.err) }
func (e *valueError) Unwrap() error { return e.err }

func badValue(kind, id, col string, err error) error { return &valueError{kind, id, col, err} }

// asBadRow reports a row's unusable value as a facegate.BadRow; a missing keyring is not a bad row (it is the
// whole store that cannot be read), nor is anything but a value error.
func asBadRow(err error) (facegate.BadRow, bool) {
	var ve *valueError
	if !errors.As(err, &ve) || errors.Is(err, ErrNoTemplateKey) {
		return facegate.BadRow{}, false
	}
	var uk *protect.UnknownKeyError
	reason := ve.col + " cannot be decoded"
	switch {
	case errors.Is(err, ErrNotSealed):
		reason = ve.col + " is stored in clear in a sealed store: facegate did not write it"
	case errors.Is(err, protect.ErrAuthFailed):
		reason = ve.col + " does not authenticate: tampered with, or moved from another row"
	case errors.As(err, &uk):
		reason = fmt.Sprintf("%s is sealed with key %q, which the keyring lacks", ve.col, uk.ID)
	case errors.Is(err, protect.ErrMalformed):
		reason = ve.col + " is a malformed sealed value"
	}
	return facegate.BadRow{Kind: ve.kind, ID: ve.id, Reason: reason, Err: err}, true
}
