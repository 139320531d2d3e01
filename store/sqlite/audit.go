package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

const auditCols = "seq, time, actor, action, target, outcome, details, prev, hash"

func scanAudit(r scanner, e *audit.Entry) error {
	var t int64
	var details sql.NullString
	if err := r.Scan(&e.Seq, &t, &e.Actor, &e.Action, &e.Target, &e.Outcome, &details, &e.Prev, &e.Hash); err != nil {
		return err
	}
	e.Time = fromNanos(t)
	e.Details = nil
	if details.Valid && details.String != "" {
		if err := json.Unmarshal([]byte(details.String), &e.Details); err != nil {
			return fmt.Errorf("audit entry %d: details: %w", e.Seq, err)
		}
	}
	return nil
}

// AppendAudit chains e after the head and stores it, in one write transaction (the head cannot move in between).
func (db *DB) AppendAudit(ctx context.Context, e *audit.Entry) error {
	err := db.txWith(ctx, nil, func(tx *sql.Tx) error { return appendAudit(ctx, tx, e) })
	if err != nil {
		return fmt.Errorf("sqlite: append audit entry: %w", err)
	}
	return nil
}

// appendAudit chains e after the head and inserts it, in tx.
func appendAudit(ctx context.Context, tx *sql.Tx, e *audit.Entry) error {
	if e.Time.IsZero() {
		e.Time = now()
	}
	var prev *audit.Entry
	var head audit.Entry
	err := scanAudit(tx.QueryRowContext(ctx, "SELECT "+auditCols+" FROM audit_log ORDER BY seq DESC LIMIT 1"), &head)
	switch {
	case err == nil:
		prev = &head
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	audit.Chain(prev, e)
	var details any
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return err
		}
		details = string(b)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO audit_log("+auditCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		e.Seq, e.Time.UnixNano(), e.Actor, e.Action, e.Target, e.Outcome, details, e.Prev, e.Hash)
	return err
}

// AuditBytes is about how many bytes the audit log's entries take: the sum of their fields' lengths.
func (db *DB) AuditBytes(ctx context.Context) (int64, error) {
	var n int64
	err := db.read.QueryRowContext(ctx, `SELECT coalesce(sum(length(actor) + length(action) + length(target) + length(outcome) +
		coalesce(length(details), 0) + length(prev) + length(hash) + 16), 0) FROM audit_log`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: audit size: %w", err)
	}
	return n, nil
}

// AuditEntries lists entries in seq order, filtered.
func (db *DB) AuditEntries(ctx context.Context, f facegate.AuditFilter) ([]audit.Entry, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	add("seq > ?", f.AfterSeq)
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Target != "" {
		add("substr(target, 1, ?) = ?", len(f.Target))
		args = append(args, f.Target)
	}
	if !f.From.IsZero() {
		add("time >= ?", f.From.UnixNano())
	}
	if !f.To.IsZero() {
		add("time < ?", f.To.UnixNano())
	}
	args = append(args, f.Limit)
	rows, err := db.read.QueryContext(ctx, "SELECT "+auditCols+" FROM audit_log WHERE "+strings.Join(where, " AND ")+" ORDER BY seq LIMIT ?", args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit entries: %w", err)
	}
	defer rows.Close()
	out := []audit.Entry{}
	for rows.Next() {
		var e audit.Entry
		if err := scanAudit(rows, &e); err != nil {
			return nil, fmt.Errorf("sqlite: audit entries: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit entries: %w", err)
	}
	return out, nil
}

// EachAudit calls fn for every entry in seq order.
func (db *DB) EachAudit(ctx context.Context, fn func(*audit.Entry) error) error {
	rows, err := db.read.QueryContext(ctx, "SELECT "+auditCols+" FROM audit_log ORDER BY seq")
	if err != nil {
		return fmt.Errorf("sqlite: audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Entry
		if err := scanAudit(rows, &e); err != nil {
			return fmt.Errorf("sqlite: audit log: %w", err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: audit log: %w", err)
	}
	return nil
}

// AuditHead returns the last entry, or nil for an empty log.
func (db *DB) AuditHead(ctx context.Context) (*audit.Entry, error) {
	var e audit.Entry
	err := scanAudit(db.read.QueryRowContext(ctx, "SELECT "+auditCols+" FROM audit_log ORDER BY seq DESC LIMIT 1"), &e)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit head: %w", err)
	}
	return &e, nil
}

// AddAuditCheckpoint stores a signed checkpoint.
func (db *DB) AddAuditCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	err := db.txWith(ctx, nil, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO audit_checkpoints(seq, hash, time, key_id, signature) VALUES (?, ?, ?, ?, ?)",
			c.Seq, c.Hash, c.Time.UnixNano(), c.KeyID, c.Signature)
		return err
	})
	if isUnique(err) {
		return nil // the same head signed twice with the same key: nothing new
	}
	if err != nil {
		return fmt.Errorf("sqlite: add audit checkpoint: %w", err)
	}
	return nil
}

// AuditCheckpoints lists the checkpoints in seq order.
func (db *DB) AuditCheckpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT seq, hash, time, key_id, signature FROM audit_checkpoints ORDER BY seq, key_id")
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	defer rows.Close()
	out := []audit.Checkpoint{}
	for rows.Next() {
		var c audit.Checkpoint
		var t int64
		if err := rows.Scan(&c.Seq, &c.Hash, &t, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
		}
		c.Time = fromNanos(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	return out, nil
}
