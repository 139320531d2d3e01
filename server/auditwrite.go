package server

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

// Audited requests fail closed: a request whose audit entry cannot be written is not served. A store writes
// the entry in the same transaction as the request's first change (audit.Pending); the response of an
// ordinary route is held in an auditBuffer until the entry is written, then sent, or replaced by a 503
// audit_unavailable; a handler that streams a large response writes the entry first (auditBeforeStreaming).
// Refused requests (403, 429) are counted per key and minute instead (refusals).

// Bounds of what an entry holds, whatever the request sent.
const (
	maxTargetParam  = 128  // bytes of each path parameter (an id, a gallery name) in an entry's target
	maxDetailValue  = 4096 // bytes of each detail
	truncatedMarker = "…"
)

// auditBuffer holds an audited response until its entry is written.
type auditBuffer struct {
	w       http.ResponseWriter
	header  http.Header
	status  int
	body    bytes.Buffer
	through bool // the entry is written: writes go straight to w
	// appended: the handler had the server append the entry before streaming (auditBeforeStreaming), so it
	// is counted already
	appended bool
}

func newAuditBuffer(w http.ResponseWriter) *auditBuffer {
	return &auditBuffer{w: w, header: w.Header().Clone()}
}

func (b *auditBuffer) Header() http.Header {
	if b.through {
		return b.w.Header()
	}
	return b.header
}

func (b *auditBuffer) WriteHeader(code int) {
	if b.through {
		b.w.WriteHeader(code)
	} else if b.status == 0 {
		b.status = code
	}
}

func (b *auditBuffer) Write(p []byte) (int, error) {
	if b.through {
		return b.w.Write(p)
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush sends what was written so far once the entry is written (streaming handlers).
func (b *auditBuffer) Flush() {
	if f, ok := b.w.(http.Flusher); ok && b.through {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (b *auditBuffer) Unwrap() http.ResponseWriter { return b.w }

// code is the status of the buffered response (200 when the handler wrote nothing).
func (b *auditBuffer) code() int {
	if b.status == 0 {
		return http.StatusOK
	}
	return b.status
}

// send writes the buffered response to w and lets later writes through.
func (b *auditBuffer) send() {
	if b.through {
		return
	}
	b.pass()
	_, _ = b.w.Write(b.body.Bytes())
	b.body = bytes.Buffer{}
}

// pass sends the header and lets every later write through.
func (b *auditBuffer) pass() {
	h := b.w.Header()
	clear(h)
	for k, v := range b.header {
		h[k] = v
	}
	b.through = true
	b.w.WriteHeader(b.code())
}

// discard drops the buffered response (its entry could not be written).
func (b *auditBuffer) discard() {
	b.header = b.w.Header().Clone()
	b.header.Del("Content-Type")
	b.header.Del("Content-Disposition")
	b.status = 0
	b.body.Reset()
}

// auditBeforeStreaming writes the request's audit entry now (outcome ok, status 200) and lets the response
// through unbuffered: for handlers that stream a large response. An error means the entry could not be
// written and the handler must return it (the client gets 503 audit_unavailable).
func (s *Server) auditBeforeStreaming(w http.ResponseWriter, r *http.Request) error {
	b, ok := w.(*auditBuffer)
	p := audit.PendingFrom(r.Context())
	if !ok || p == nil {
		return nil
	}
	e := p.Take()
	if e == nil {
		b.through = true
		return nil
	}
	e.Outcome, e.Details["status"] = "ok", "200"
	err := s.auditAppend(r.Context(), e)
	p.Done(e, err == nil)
	if err != nil {
		return err
	}
	b.through, b.appended = true, true
	h := b.w.Header()
	for k, v := range b.header {
		h[k] = v
	}
	return nil
}

// finishAudit writes a request's entry after its handler (unless a store wrote it with the change, or it is a
// refusal, counted instead), then sends the buffered response, or, for a success whose entry could not be
// written, a 503 audit_unavailable in its place.
func (s *Server) finishAudit(ctx context.Context, p *audit.Pending, b *auditBuffer, rec *statusRecorder, pattern string) {
	status := rec.status
	if b != nil && !b.through {
		status = b.code()
	}
	written := p.Written()
	switch {
	case status == http.StatusUnauthorized:
	case written != nil:
		if b == nil || !b.appended { // a store wrote it with the request's change
			s.checkpointIfDue(ctx, written.Seq)
			s.auditWritten(written)
		}
	case status == http.StatusForbidden || status == http.StatusTooManyRequests:
		if actor := p.Detail("actor"); actor != "" {
			s.refusals.add(actor, pattern, status)
		}
	default:
		if e := p.Take(); e != nil {
			e.Outcome, e.Details["status"] = outcome(status), strconv.Itoa(status)
			err := s.auditAppend(ctx, e)
			p.Done(e, err == nil)
			// A success is not sent unaudited; a refusal or an error (a full disk's 507) gives nothing away, and
			// is sent as it is.
			if err != nil && b != nil && !b.through && status < 400 {
				b.discard()
				writeError(b, toAPIError(err))
			}
		}
	}
	if b != nil {
		b.send()
	}
}

// boundedTarget is what an entry names as its target: the route's path with its parameters (ids, gallery
// names) filled in, each cut to maxTargetParam bytes. Never the raw request path, which the client chooses.
func boundedTarget(pattern string, r *http.Request) string {
	_, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimPrefix(path, "/v1/")
	segs := strings.Split(path, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			segs[i] = capText(r.PathValue(strings.Trim(seg, "{}.")), maxTargetParam)
		}
	}
	return strings.Join(segs, "/")
}

// capText cuts s to at most n bytes (on a character boundary), marking the cut.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(truncatedMarker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncatedMarker
}

// capDetails bounds every detail's value.
func capDetails(d map[string]string) map[string]string {
	for k, v := range d {
		d[k] = capText(v, maxDetailValue)
	}
	return d
}

// refusals counts refused requests (403 forbidden, 429 rate limited) per API key, written as one audit entry
// per key and minute ("refusals") rather than one per request, so refusals cannot fill the disk.
type refusals struct {
	mu    sync.Mutex
	since time.Time
	byKey map[string]map[string]int // key id → "route status" → count
}

func (a *refusals) add(actor, route string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.byKey == nil {
		a.byKey, a.since = map[string]map[string]int{}, time.Now().UTC()
	}
	m := a.byKey[actor]
	if m == nil {
		m = map[string]int{}
		a.byKey[actor] = m
	}
	m[route+" "+strconv.Itoa(status)]++
}

// take returns the counts so far and starts afresh.
func (a *refusals) take() (time.Time, map[string]map[string]int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	since, m := a.since, a.byKey
	a.byKey = nil
	return since, m
}

// flushRefusals writes one "refusals" entry per key that was refused since the last flush.
func (s *Server) flushRefusals(ctx context.Context) {
	since, m := s.refusals.take()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, actor := range keys {
		counts := m[actor]
		var denied, limited int
		routes := make([]string, 0, len(counts))
		for rs, n := range counts {
			if strings.HasSuffix(rs, " 429") {
				limited += n
			} else {
				denied += n
			}
			routes = append(routes, fmt.Sprintf("%s=%d", rs, n))
		}
		slices.Sort(routes)
		e := &audit.Entry{Actor: actor, Action: "refusals", Outcome: "refused", Details: capDetails(map[string]string{
			"since": since.Format(time.RFC3339), "denied": strconv.Itoa(denied), "rate_limited": strconv.Itoa(limited),
			"routes": strings.Join(routes, ", ")})}
		_ = s.auditAppend(ctx, e)
	}
}

// refusalLoop flushes the refusal counts at the end of every minute.
func (s *Server) refusalLoop(ctx context.Context) {
	for {
		now := time.Now()
		t := time.NewTimer(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			s.flushRefusals(context.WithoutCancel(ctx))
		}
	}
}

// auditError marks a failed append as the audit being unavailable (for toAPIError).
func auditError(err error) error {
	return fmt.Errorf("server: audit: %w: %w", facegate.ErrAuditUnavailable, err)
}
