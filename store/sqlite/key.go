package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/facegate/facegate"
)

const keyCols = "id, name, role, hash, revoked, created_at"

func scanKey(r scanner, k *facegate.APIKey) error {
	var revoked int
	var created int64
	if err := r.Scan(&k.ID, &k.Name, &k.Role, &k.Hash, &revoked, &created); err != nil {
		return err
	}
	k.Revoked, k.CreatedAt = revoked != 0, fromNanos(created)
	return nil
}

// CreateKey stores a new API key, generating its ID when empty and setting CreatedAt. The role must be one of
// the facegate roles and the hash non-empty; a taken ID or hash is ErrConflict.
func (db *DB) CreateKey(ctx context.Context, k *facegate.APIKey) error {
	switch k.Role {
	case facegate.RoleAdmin, facegate.RoleOperator, facegate.RoleDevice:
	default:
		return fmt.Errorf("sqlite: create key: unknown role %q", k.Role)
	}
	if len(k.Hash) == 0 {
		return errors.New("sqlite: create key: empty hash")
	}
	if err := k.CheckLimits(); err != nil {
		return fmt.Errorf("sqlite: create key: %w", err)
	}
	id := k.ID
	if id == "" {
		id = newID("key_")
	}
	t := now()
	_, err := db.execCreated(ctx, id, "INSERT INTO api_keys("+keyCols+") VALUES (?, ?, ?, ?, ?, ?)",
		id, k.Name, string(k.Role), k.Hash, boolInt(k.Revoked), t.UnixNano())
	if isUnique(err) {
		return fmt.Errorf("sqlite: create key: %w", conflict("key %q exists", id))
	}
	if err != nil {
		return fmt.Errorf("sqlite: create key %s: %w", id, err)
	}
	k.ID, k.CreatedAt = id, t
	return nil
}

// KeyByHash returns the key with the given hash, revoked or not: the caller checks Revoked.
func (db *DB) KeyByHash(ctx context.Context, hash []byte) (*facegate.APIKey, error) {
	if len(hash) == 0 {
		return nil, fmt.Errorf("sqlite: key by hash: %w", facegate.ErrNotFound)
	}
	var k facegate.APIKey
	err := scanKey(db.read.QueryRowContext(ctx, "SELECT "+keyCols+" FROM api_keys WHERE hash = ?", hash), &k)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: key by hash: %w", facegate.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: key by hash: %w", err)
	}
	return &k, nil
}

// Keys lists every key, revoked ones included, oldest first.
func (db *DB) Keys(ctx context.Context) ([]facegate.APIKey, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT "+keyCols+" FROM api_keys ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: keys: %w", err)
	}
	defer rows.Close()
	out := []facegate.APIKey{}
	for rows.Next() {
		var k facegate.APIKey
		if err := scanKey(rows, &k); err != nil {
			return nil, fmt.Errorf("sqlite: keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: keys: %w", err)
	}
	return out, nil
}

// RevokeKey marks the key revoked; revoking a revoked key is not an error. The last admin key in force is not
// revoked (ErrLastAdminKey, checked in the same transaction): create another admin key first ('facegate keys
// admin' on the host makes one even when every admin key is lost).
func (db *DB) RevokeKey(ctx context.Context, id string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var role string
		var revoked int
		err := tx.QueryRowContext(ctx, "SELECT role, revoked FROM api_keys WHERE id = ?", id).Scan(&role, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("key", id)
		}
		if err != nil || revoked != 0 {
			return err
		}
		if facegate.Role(role) == facegate.RoleAdmin {
			var others int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM api_keys WHERE role = ? AND revoked = 0 AND id <> ?",
				string(facegate.RoleAdmin), id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return facegate.Userf(facegate.ErrLastAdminKey, "key %s is the last admin key in force and revoking it would lock "+
					"every admin out: create another admin key first (POST /v1/keys, or 'facegate keys admin' on the host), then revoke this one", id)
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE api_keys SET revoked = 1 WHERE id = ?", id)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: revoke key %s: %w", id, err)
	}
	return nil
}
