package server

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/facegate/facegate/audit"
)

// DefaultAuditBudget is the audit log's default size budget (Config.AuditBudget): 1 GiB.
const DefaultAuditBudget = 1 << 30

// auditWritten counts a written entry and its bytes against the budget.
func (s *Server) auditWritten(e *audit.Entry) {
	s.metrics.inc("facegate_audit_entries_total", "Audit entries written.")
	n := int64(len(e.Actor) + len(e.Action) + len(e.Target) + len(e.Outcome) + len(e.Prev) + len(e.Hash) + 16)
	for k, v := range e.Details {
		n += int64(len(k) + len(v) + 6)
	}
	s.checkBudget(s.auditBytes.Add(n))
}

// checkBudget logs when the audit log first passes 90% of its budget, and again when it passes the budget.
// The log is never truncated: the administrator must archive it or raise the budget.
func (s *Server) checkBudget(used int64) {
	budget := s.cfg.AuditBudget
	level := int32(0)
	switch {
	case used >= budget:
		level = 2
	case used >= budget/10*9:
		level = 1
	}
	for {
		old := s.budgetLevel.Load()
		if level <= old {
			return
		}
		if s.budgetLevel.CompareAndSwap(old, level) {
			break
		}
	}
	if level == 2 {
		s.log.Error("the audit log is over its size budget: archive it ('GET /v1/audit?format=jsonl') and move the data directory to a larger disk, or raise --audit-budget",
			"bytes", used, "budget", budget)
	} else {
		s.log.Warn("the audit log is near its size budget (90%)", "bytes", used, "budget", budget)
	}
}

// checkpointSink appends every signed checkpoint to a file outside the database (Config.AuditCheckpoints), one
// JSON object a line, synced: a copy that whoever rewrites or truncates the database cannot reach, which
// 'facegate audit verify --checkpoints FILE' checks the log against. A nil sink does nothing.
type checkpointSink struct {
	mu sync.Mutex
	f  *os.File
}

func openCheckpointSink(path string) (*checkpointSink, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: audit checkpoints file: %w", err)
	}
	// A torn last line (a crash while it was written) is ended, so the next checkpoint starts a line of its own.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(path); err == nil {
			_, err = r.ReadAt(last, fi.Size()-1)
			r.Close()
			if err == nil && last[0] != '\n' {
				if _, err := f.Write([]byte{'\n'}); err != nil {
					f.Close()
					return nil, fmt.Errorf("server: audit checkpoints file: %w", err)
				}
			}
		}
	}
	return &checkpointSink{f: f}, nil
}

func (c *checkpointSink) add(cp audit.Checkpoint) error {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("server: audit checkpoints file: %w", err)
	}
	if err := c.f.Sync(); err != nil {
		return fmt.Errorf("server: audit checkpoints file: %w", err)
	}
	return nil
}

func (c *checkpointSink) close() error {
	if c == nil {
		return nil
	}
	return c.f.Close()
}

// DefaultMaxHeaderBytes is the default Config.MaxHeaderBytes: 64 KiB, request line included.
const DefaultMaxHeaderBytes = 64 << 10

// reserver is a store that keeps disk space in reserve for a full disk (the SQLite store's Reserve).
type reserver interface{ ReserveBytes() int64 }

// startAuditLog opens the checkpoints file, measures the log against its budget, exports the metrics and
// starts the loop that writes the refusal counts each minute.
func (s *Server) startAuditLog(ctx context.Context) error {
	sink, err := openCheckpointSink(s.cfg.AuditCheckpoints)
	if err != nil {
		return err
	}
	s.checkpointSink = sink
	used, err := s.cfg.Store.AuditBytes(ctx)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.auditBytes.Store(used)
	s.checkBudget(used)
	s.metrics.gauge("facegate_audit_log_bytes", "About how many bytes the audit log takes.", func() map[string]float64 {
		return map[string]float64{"": float64(s.auditBytes.Load())}
	})
	s.metrics.gauge("facegate_audit_log_budget_bytes", "The audit log's size budget (--audit-budget).", func() map[string]float64 {
		return map[string]float64{"": float64(s.cfg.AuditBudget)}
	})
	if r, ok := s.cfg.Store.(reserver); ok {
		s.metrics.gauge("facegate_disk_reserve_bytes", "Disk space held in reserve for a full disk (0 once a full disk released it).", func() map[string]float64 {
			return map[string]float64{"": float64(r.ReserveBytes())}
		})
	}
	s.bgWG.Add(1)
	go func() {
		defer s.bgWG.Done()
		s.refusalLoop(s.bg)
	}()
	return nil
}
