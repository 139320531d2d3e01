package server

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
)

// The audit log records who (API key id, or "stream/<id>", or "system") did what (the route, or a named
// action), to what (the request path: opaque ids and gallery names), when, and with what outcome, with a few
// non-biometric details (request id, status, matched subject ids). Never templates, images or names of people.

// note adds a detail to the request's audit entry (replacing one of the same name).
func note(r *http.Request, k, v string) {
	if p := audit.PendingFrom(r.Context()); p != nil {
		p.Set(k, v)
	}
}

// audited reports whether a route's requests go to the audit log: every route that needs a key, except the
// ones that say nothing about anybody (metrics, the API description).
func audited(rt route) bool {
	return rt.role != "" && rt.pattern != "GET /metrics" && rt.pattern != "GET /openapi.json"
}

func outcome(status int) string {
	switch {
	case status < 300:
		return "ok"
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return "denied"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status < 500:
		return "rejected"
	}
	return "error"
}

// auditAppend appends an entry and signs a checkpoint when one is due. A failure is logged, counted and
// returned (wrapping facegate.ErrAuditUnavailable).
func (s *Server) auditAppend(ctx context.Context, e *audit.Entry) error {
	if err := s.cfg.Store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit append failed", "action", e.Action, "err", err)
		s.metrics.inc("facegate_audit_failures_total", "Audit entries that could not be written.")
		return auditError(err)
	}
	s.checkpointIfDue(ctx, e.Seq)
	s.auditWritten(e)
	return nil
}

// checkpointIfDue signs a checkpoint when entry seq is AuditCheckpointEvery past the last one.
func (s *Server) checkpointIfDue(ctx context.Context, seq int64) {
	s.auditMu.Lock()
	due := s.cfg.AuditKey != nil && seq-s.lastCheckpoint >= int64(s.cfg.AuditCheckpointEvery)
	s.auditMu.Unlock()
	if due {
		s.checkpointAudit(context.WithoutCancel(ctx))
	}
}

// checkpointAudit signs the current head (when there are entries since the last checkpoint), only when the log
// still extends the last checkpoint known (checkExtends); otherwise it logs why and signs nothing.
func (s *Server) checkpointAudit(ctx context.Context) {
	if s.cfg.AuditKey == nil {
		return
	}
	s.auditMu.Lock()
	defer s.auditMu.Unlock()
	head, err := s.cfg.Store.AuditHead(ctx)
	if err != nil || head == nil || head.Seq <= s.lastCheckpoint {
		return
	}
	// Never over a log cut or rewritten since the last checkpoint known (auditcontinuity.go).
	known, err := s.fileCheckpoint()
	if err == nil && s.known != nil {
		known = append(known, *s.known)
	}
	if err == nil {
		err = s.checkExtends(ctx, "so no checkpoint is signed over it", known...)
	}
	if err != nil {
		s.log.Error("audit checkpoint not signed", "err", err)
		s.metrics.inc("facegate_audit_checkpoints_refused_total", "Checkpoints not signed because the audit log does not extend the last checkpoint known (it was truncated or rewritten), or that checkpoint could not be read.")
		return
	}
	cp := audit.SignCheckpoint(s.cfg.AuditKey, head, time.Now().UTC())
	if err := s.cfg.Store.AddAuditCheckpoint(ctx, cp); err != nil {
		s.log.Error("audit checkpoint failed", "err", err)
		return
	}
	if err := s.checkpointSink.add(cp); err != nil {
		s.log.Error("audit checkpoint not written to the checkpoints file", "err", err)
		s.metrics.inc("facegate_audit_failures_total", "Audit entries that could not be written.")
	}
	s.lastCheckpoint = head.Seq
	s.known = &knownCheckpoint{cp, signedHere}
}

// auditFilter reads the filters of the audit routes.
func auditFilter(r *http.Request) (facegate.AuditFilter, error) {
	q := r.URL.Query()
	f := facegate.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	for name, dst := range map[string]*time.Time{"from": &f.From, "to": &f.To} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, errf(http.StatusBadRequest, codeBadRequest, "%s must be an RFC 3339 time", name)
			}
			*dst = t
		}
	}
	for name, dst := range map[string]*int64{"after": &f.AfterSeq} {
		if v := q.Get(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, errf(http.StatusBadRequest, codeBadRequest, "%s must be a sequence number", name)
			}
			*dst = n
		}
	}
	f.Limit = 1000
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return f, errf(http.StatusBadRequest, codeBadRequest, "limit must be 1..10000")
		}
		f.Limit = n
	}
	return f, nil
}

// listAudit is GET /v1/audit: entries in seq order with filters; ?format=jsonl exports them as JSON lines
// (every matching entry, paged internally), which 'facegate audit verify --file' checks offline.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("format") == "jsonl" {
		if err := s.auditBeforeStreaming(w, r); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for {
			page, err := s.cfg.Store.AuditEntries(r.Context(), f)
			if err != nil {
				return nil // the status is sent; the client sees a short export
			}
			for i := range page {
				if enc.Encode(&page[i]) != nil {
					return nil
				}
			}
			if len(page) < f.Limit {
				return nil
			}
			f.AfterSeq = page[len(page)-1].Seq
		}
	}
	entries, err := s.cfg.Store.AuditEntries(r.Context(), f)
	if err != nil {
		return err
	}
	out := api.AuditList{Entries: entries}
	if len(entries) == f.Limit {
		out.NextAfter = entries[len(entries)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// auditCheckpoints is GET /v1/audit/checkpoints.
func (s *Server) auditCheckpoints(w http.ResponseWriter, r *http.Request) error {
	cps, err := s.cfg.Store.AuditCheckpoints(r.Context())
	if err != nil {
		return err
	}
	out := api.AuditCheckpoints{Checkpoints: cps}
	if s.cfg.AuditKey != nil {
		out.PublicKey = audit.EncodePublicKey(s.cfg.AuditKey.Public().(ed25519.PublicKey))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// verifyAudit is GET /v1/audit/verify: the whole chain checked now, with the checkpoints' signatures when the
// server has its signing key.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	// The head is signed first: entries since the last sweep are not yet covered, and this server has the key.
	s.checkpointAudit(r.Context())
	var external []audit.Checkpoint
	if s.cfg.AuditCheckpoints != "" {
		f, err := os.Open(s.cfg.AuditCheckpoints)
		if err != nil {
			return fmt.Errorf("server: audit checkpoints file: %w", err)
		}
		external, err = audit.ReadCheckpoints(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	rep, err := VerifyAuditWith(r.Context(), s.cfg.Store, publicOf(s.cfg.AuditKey), VerifyOptions{External: external,
		CheckpointEvery: int64(s.cfg.AuditCheckpointEvery)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func publicOf(priv ed25519.PrivateKey) ed25519.PublicKey {
	if priv == nil {
		return nil
	}
	return priv.Public().(ed25519.PublicKey)
}

// VerifyAudit checks a store's audit chain and checkpoints (signatures too when pub is not nil).
func VerifyAudit(ctx context.Context, st facegate.AuditStore, pub ed25519.PublicKey) (*audit.Report, error) {
	return VerifyAuditWith(ctx, st, pub, VerifyOptions{})
}

// VerifyOptions are what VerifyAuditWith checks besides the chain and the store's own checkpoints.
type VerifyOptions struct {
	// External are checkpoints kept outside the database (the --audit-checkpoints file): the log must match
	// them too, so a truncated or rewritten log fails even when its checkpoints were deleted from the store.
	External []audit.Checkpoint
	// CheckpointEvery, with a public key, requires a signed checkpoint within this many entries of the head
	// (the server's AuditCheckpointEvery; see audit.Report.RequireCheckpoints). 0: not required.
	CheckpointEvery int64
}

// VerifyAuditWith checks a store's audit chain against its checkpoints and opt.External (signatures too when
// pub is not nil, and then the head's coverage by opt.CheckpointEvery). The CLI's 'facegate audit verify'
// runs it on a data directory.
func VerifyAuditWith(ctx context.Context, st facegate.AuditStore, pub ed25519.PublicKey, opt VerifyOptions) (*audit.Report, error) {
	stored, err := st.AuditCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	cps := stored
	seen := map[audit.Checkpoint]bool{}
	for _, c := range stored {
		seen[c] = true
	}
	for _, c := range opt.External {
		if c.Time = c.Time.UTC(); !seen[c] {
			seen[c] = true
			cps = append(cps, c)
		}
	}
	entries := make(chan *audit.Entry, 256)
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(entries)
		errc <- st.EachAudit(ctx, func(e *audit.Entry) error {
			c := *e
			select {
			case entries <- &c:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	rep, err := audit.Verify(func() (*audit.Entry, error) {
		e, ok := <-entries
		if !ok {
			if err := <-errc; err != nil {
				return nil, err
			}
			return nil, nil
		}
		return e, nil
	}, cps, pub)
	if err != nil {
		return nil, err
	}
	rep.RequireCheckpoints(cps, pub, opt.CheckpointEvery)
	return rep, nil
}
