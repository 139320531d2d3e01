package facegate

import (
	"context"
	"errors"
	"time"

	"github.com/facegate/facegate/audit"
)

// AuditFilter selects audit entries. Empty fields match everything; Target matches as a prefix.
type AuditFilter struct {
	Actor    string
	Action   string
	Target   string
	From, To time.Time
	AfterSeq int64
	Limit    int
}

// AuditStore keeps the append-only, hash-chained audit log and its signed checkpoints. The SQLite store
// implements it; its tables refuse UPDATE and DELETE.
type AuditStore interface {
	// AppendAudit chains e after the current head (setting Seq, Prev and Hash) and stores it, in one
	// transaction.
	AppendAudit(ctx context.Context, e *audit.Entry) error
	// AuditEntries lists entries in seq order.
	AuditEntries(ctx context.Context, f AuditFilter) ([]audit.Entry, error)
	// EachAudit calls fn for every entry in seq order (for verification and export).
	EachAudit(ctx context.Context, fn func(*audit.Entry) error) error
	AuditHead(ctx context.Context) (*audit.Entry, error) // nil when the log is empty
	AddAuditCheckpoint(ctx context.Context, c audit.Checkpoint) error
	AuditCheckpoints(ctx context.Context) ([]audit.Checkpoint, error)
	// AuditBytes is about how many bytes the log's entries take (for its size budget).
	AuditBytes(ctx context.Context) (int64, error)
}

// ErrAuditUnavailable is wrapped by a store's errors when the audit entry of a change could not be written: the
// change was not made (it and its entry are written in one transaction).
var ErrAuditUnavailable = errors.New("the audit log cannot be written")

// ErrStorageFull is wrapped by a store's errors when its disk (or its configured size limit) is full.
var ErrStorageFull = errors.New("storage full")
