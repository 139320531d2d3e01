package sqlite

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

// request returns a context carrying a request's pending audit entry.
func request(withChange bool) (context.Context, *audit.Pending) {
	p := audit.NewPending(func(d map[string]string) *audit.Entry {
		return &audit.Entry{Actor: "key_a", Action: "POST /v1/galleries", Outcome: "ok", Details: d}
	}, withChange)
	return audit.WithPending(context.Background(), p), p
}

// TestPendingAuditSameTransaction: a request's pending entry is written in the transaction of its first
// change, once, naming what was created; when the entry cannot be written the change is not made either.
func TestPendingAuditSameTransaction(t *testing.T) {
	db, _ := openTest(t)
	ctx, p := request(true)
	g := &facegate.Gallery{Name: "staff"}
	if err := db.CreateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateGallery(ctx, &facegate.Gallery{Name: "visitors"}); err != nil {
		t.Fatal(err)
	}
	w := p.Written()
	if w == nil || w.Seq != 1 || w.Details["created"] != g.ID {
		t.Fatalf("written entry %+v, want seq 1 naming %s", w, g.ID)
	}
	if n := count(t, db, "SELECT count(*) FROM audit_log"); n != 1 {
		t.Fatalf("%d entries for one request, want 1", n)
	}
	ctx, p = request(false) // a batch request: its entry is written after all its changes, not with one
	if err := db.CreateGallery(ctx, &facegate.Gallery{Name: "batch"}); err != nil || p.Written() != nil {
		t.Fatalf("batch request: %v, written %+v", err, p.Written())
	}

	if _, err := db.write.Exec(`CREATE TRIGGER audit_broken BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'no audit'); END`); err != nil {
		t.Fatal(err)
	}
	ctx, p = request(true)
	err := db.CreateGallery(ctx, &facegate.Gallery{Name: "unaudited"})
	if !errors.Is(err, facegate.ErrAuditUnavailable) || p.Written() != nil {
		t.Fatalf("create with a failing audit insert: %v", err)
	}
	if n := count(t, db, "SELECT count(*) FROM galleries WHERE name = 'unaudited'"); n != 0 {
		t.Fatal("the gallery was created without its audit entry")
	}
}

// TestFullDatabase: at its size limit the store's writes fail with ErrStorageFull, and the reserve file is
// released (once) for the retry.
func TestFullDatabase(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	if err := db.Reserve(1 << 16); err != nil || db.ReserveBytes() != 1<<16 {
		t.Fatalf("reserve: %v", err)
	}
	if err := db.SetMaxSize(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; err == nil && i < 10000; i++ {
		err = db.AppendAudit(ctx, &audit.Entry{Actor: "key_a", Action: "search", Outcome: "ok", Target: strings.Repeat("x", 100)})
	}
	if !errors.Is(err, facegate.ErrStorageFull) {
		t.Fatalf("appending to a full database: %v, want ErrStorageFull", err)
	}
	if db.ReserveBytes() != 0 {
		t.Error("the reserve was not released")
	}
}
