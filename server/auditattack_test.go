package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/server"
)

// auditEntries lists the whole audit log.
func auditEntries(t *testing.T, e *env) []audit.Entry {
	t.Helper()
	var all []audit.Entry
	err := e.store.EachAudit(context.Background(), func(en *audit.Entry) error {
		all = append(all, *en)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestAttackAuditFloodRefusals replays issue 12 finding 2: a device key sends many requests that are refused
// (403 on an operator route, 429 past its rate limit) with ~1 MB paths. Refusals are counted, one entry per
// key and minute; the entries that are written name a bounded target; the log grows by a few KB, not by the
// megabytes the paths hold.
func TestAttackAuditFloodRefusals(t *testing.T) {
	e := newEnv(t, server.Config{RatePerSecond: 0.001, Burst: 3})
	ctx := context.Background()
	dev, err := e.client(e.admin).CreateKey(ctx, "door", facegate.RoleDevice)
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.store.AuditBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 900<<10)
	statuses := map[int]int{}
	for range 20 {
		statuses[e.do("POST", "/v1/galleries/"+long+"/subjects", dev.Secret, "application/json", []byte("{}"), nil)]++
		statuses[e.do("GET", "/v1/galleries/"+long, dev.Secret, "", nil, nil)]++
	}
	if statuses[403] != 20 || statuses[429] != 17 || statuses[404] != 3 {
		t.Fatalf("statuses %v: want 20 forbidden, 3 not found, then 17 rate limited", statuses)
	}
	if err := e.srv.Close(); err != nil { // writes the refusal counts of the minute
		t.Fatal(err)
	}
	var refusals []audit.Entry
	for _, en := range auditEntries(t, e) {
		if len(en.Target) > 300 {
			t.Errorf("entry %d %s: target of %d bytes", en.Seq, en.Action, len(en.Target))
		}
		for k, v := range en.Details {
			if len(v) > 4096 {
				t.Errorf("entry %d: detail %s of %d bytes", en.Seq, k, len(v))
			}
		}
		if en.Actor == dev.Key.ID && en.Action == "refusals" {
			refusals = append(refusals, en)
		}
	}
	if len(refusals) != 1 {
		t.Fatalf("%d refusal entries for the key, want 1", len(refusals))
	}
	d := refusals[0].Details
	if d["denied"] != "20" || d["rate_limited"] != "17" ||
		d["routes"] != "GET /v1/galleries/{g} 429=17, POST /v1/galleries/{g}/subjects 403=20" {
		t.Errorf("refusal counts %v", d)
	}
	after, err := e.store.AuditBytes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if grew := after - before; grew > 4<<10 {
		t.Errorf("the audit log grew by %d bytes for 40 refused requests of 900 KB paths", grew)
	}
	t.Logf("audit log grew by %d bytes", after-before)
}

// TestAttackHugeRequestLine: a request line (or header) beyond the server's MaxHeaderBytes is answered 431
// before any handler runs, so nothing of it reaches the audit log.
func TestAttackHugeRequestLine(t *testing.T) {
	e := newEnv(t, server.Config{MaxHeaderBytes: 16 << 10})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.srv.Serve(ctx, ln, "", "") }()
	defer func() {
		cancel()
		<-done
	}()
	n := len(auditEntries(t, e))
	req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/v1/galleries/"+strings.Repeat("y", 1<<20), nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 1 MiB request line: %d, want 431", resp.StatusCode)
	}
	if got := len(auditEntries(t, e)); got != n {
		t.Errorf("the refused request added %d audit entries", got-n)
	}
}

// TestAttackAuditSameTransaction replays issue 12 finding 5 (after kill -9 there were 286 subjects but 284
// creation entries): a change and its audit entry are one transaction. With the audit insert failing (a
// trigger refuses it), creating a subject answers 503 audit_unavailable and creates nothing, and a search
// answers 503 without its result; once the audit works again, every subject has its creation entry, which
// names it.
func TestAttackAuditSameTransaction(t *testing.T) {
	e := newEnv(t, server.Config{})
	ctx := context.Background()
	c := e.client(e.admin)
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("staff")}); err != nil {
		t.Fatal(err)
	}
	first, err := c.CreateSubject(ctx, "staff", api.SubjectRequest{ExternalID: ptr("e1"), Consent: consent("e1")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{1, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	raw := rawDB(t, e.dir)
	if _, err := raw.Exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit insert refused'); END`); err != nil {
		t.Fatal(err)
	}
	subjects := count(t, e.store, "subjects")
	_, err = c.CreateSubject(ctx, "staff", api.SubjectRequest{ExternalID: ptr("e2"), Consent: consent("e2")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{2, 0, 100}))
	if !api.IsCode(err, api.CodeAuditUnavailable) {
		t.Fatalf("creating a subject without audit: %v, want audit_unavailable", err)
	}
	var ae *api.Error
	if errors.As(err, &ae) && ae.Status != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", ae.Status)
	}
	if got := count(t, e.store, "subjects"); got != subjects {
		t.Fatalf("the subject was created without its audit entry: %d subjects, was %d", got, subjects)
	}
	var body map[string]any
	if code := e.image("/v1/galleries/staff/search", e.admin, fakePhoto(t, fakeFace{1, 3, 95}), nil, &body); code != 503 ||
		strings.Contains(fmt.Sprint(body), first.Subject.ID) || strings.Contains(fmt.Sprint(body), "match") {
		t.Fatalf("search without audit: %d %v, want 503 and no result", code, body)
	}
	if _, err := raw.Exec(`DROP TRIGGER audit_broken`); err != nil {
		t.Fatal(err)
	}
	second, err := c.CreateSubject(ctx, "staff", api.SubjectRequest{ExternalID: ptr("e3"), Consent: consent("e3")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{3, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, en := range auditEntries(t, e) {
		if en.Action == "POST /v1/galleries/{g}/subjects" && en.Outcome == "ok" {
			created[en.Details["created"]] = true
		}
	}
	if len(created) != 2 || !created[first.Subject.ID] || !created[second.Subject.ID] {
		t.Fatalf("creation entries name %v, want exactly the two subjects %s and %s", created, first.Subject.ID, second.Subject.ID)
	}
}

// TestAttackFullDisk replays issue 12 finding 5 (at ENOSPC searches answered "match" without an audit entry,
// and erasure failed with a bare 500): the database is capped at its current size (SQLite's max_page_count,
// which fails writes exactly like a full disk) and filled with searches. A search then answers 503
// audit_unavailable without its result, never a match; erasure either succeeds with its audit entry (the
// deleted rows free room) or fails with a clear code; never a bare 500.
func TestAttackFullDisk(t *testing.T) {
	e := newEnv(t, server.Config{RatePerSecond: -1})
	ctx := context.Background()
	if err := e.store.Reserve(1 << 20); err != nil {
		t.Fatal(err)
	}
	c := e.client(e.admin)
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("staff")}); err != nil {
		t.Fatal(err)
	}
	sub, err := c.CreateSubject(ctx, "staff", api.SubjectRequest{ExternalID: ptr("e1"), Consent: consent("e1")}, api.EnrolOptions{},
		noisyFakePhoto(t, 1, fakeFace{1, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetMaxSize(ctx, 0); err != nil { // no bigger than now
		t.Fatal(err)
	}
	probe := fakePhoto(t, fakeFace{1, 3, 95})
	full := false
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; !full && time.Now().Before(deadline); i++ {
		var body map[string]any
		switch code := e.image("/v1/galleries/staff/search", e.admin, probe, nil, &body); code {
		case 200:
		case 503:
			full = true
			s := fmt.Sprint(body)
			if !strings.Contains(s, api.CodeAuditUnavailable) || strings.Contains(s, sub.Subject.ID) || strings.Contains(s, "match") {
				t.Fatalf("search on a full disk: %v, want audit_unavailable and no result", body)
			}
		default:
			t.Fatalf("search %d: status %d %v", i, code, body)
		}
	}
	if !full {
		t.Fatal("the capped database never filled up")
	}
	if e.store.ReserveBytes() != 0 {
		t.Error("the full disk did not release the reserve")
	}
	_, err = c.CreateGallery(ctx, api.GalleryRequest{Name: ptr(strings.Repeat("g", 200))})
	if !api.IsCode(err, api.CodeStorageFull) && !api.IsCode(err, api.CodeAuditUnavailable) {
		t.Fatalf("a write on a full disk: %v, want storage_full or audit_unavailable", err)
	}
	t.Logf("a write on a full disk: %v", err)
	n := len(auditEntries(t, e))
	err = c.DeleteSubject(ctx, "staff", sub.Subject.ID)
	switch {
	case err == nil:
		entries := auditEntries(t, e)
		if len(entries) != n+1 || entries[n].Action != "DELETE /v1/galleries/{g}/subjects/{s}" {
			t.Fatalf("erasure on a full disk succeeded without its audit entry")
		}
		t.Log("erasure on a full disk succeeded, with its audit entry")
	case api.IsCode(err, api.CodeAuditUnavailable) || api.IsCode(err, api.CodeStorageFull):
		if count(t, e.store, "subjects") != 1 {
			t.Fatal("the erasure failed but the subject is gone")
		}
		t.Logf("erasure on a full disk: %v", err)
	default:
		t.Fatalf("erasure on a full disk: %v, want success or a clear code", err)
	}
}

// TestAuditBudget: the audit log's size and budget are metrics, and the server logs a warning near the budget
// and an error past it (once each), without refusing anything.
func TestAuditBudget(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, server.Config{AuditBudget: 3000, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for i := range 20 {
		if code := e.json("POST", "/v1/galleries", e.admin, api.GalleryRequest{Name: ptr(fmt.Sprintf("g%d", i))}, nil); code != 201 {
			t.Fatalf("gallery %d: %d (a full budget must refuse nothing)", i, code)
		}
	}
	m := metricsText(t, e)
	var used, budget float64
	for _, line := range strings.Split(m, "\n") {
		fmt.Sscanf(line, "facegate_audit_log_bytes %g", &used)
		fmt.Sscanf(line, "facegate_audit_log_budget_bytes %g", &budget)
	}
	if budget != 3000 || used <= 3000 {
		t.Fatalf("metrics say %g bytes of a %g budget, want over 3000 of 3000", used, budget)
	}
	stored, err := e.store.AuditBytes(context.Background())
	if err != nil || float64(stored) > used*1.2 || float64(stored) < used*0.8 {
		t.Errorf("the store measures %d bytes, the metric %g", stored, used)
	}
	l := logs.String()
	if strings.Count(l, "near its size budget") != 1 || strings.Count(l, "over its size budget") != 1 {
		t.Fatalf("want one warning near and one error over the budget, got:\n%s", l)
	}
}

// TestAuditWatchlistSearch: a watchlist search that raises an alert has its entry written with the alert (one
// transaction), and the entry still says whom the search matched.
func TestAuditWatchlistSearch(t *testing.T) {
	e, c := decisionEnv(t)
	victim, aid := attackAlert(t, c, 61)
	var entries []audit.Entry
	for _, en := range auditEntries(t, e) {
		if en.Action == "POST /v1/galleries/{g}/search" {
			entries = append(entries, en)
		}
	}
	if len(entries) != 1 {
		t.Fatalf("%d search entries, want 1", len(entries))
	}
	d := entries[0].Details
	if d["matched"] != victim || d["faces"] != "1" || d["created"] != aid {
		t.Fatalf("watchlist search entry %v: want matched=%s and created=%s (the alert)", d, victim, aid)
	}
}
