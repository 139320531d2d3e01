package sqlite

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

func verifyStore(t *testing.T, db *DB) *audit.Report {
	t.Helper()
	ctx := context.Background()
	var log []audit.Entry
	if err := db.EachAudit(ctx, func(e *audit.Entry) error { log = append(log, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	cps, err := db.AuditCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(audit.FromSlice(log), cps, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestAuditLog(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		e := &audit.Entry{Actor: "key_" + strconv.Itoa(i%3), Action: "search", Target: "gallery/g1", Outcome: "ok",
			Details: map[string]string{"request": strconv.Itoa(i)}}
		if err := db.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
		if e.Seq != int64(i+1) || e.Hash == "" {
			t.Fatalf("entry %d: seq %d hash %q", i, e.Seq, e.Hash)
		}
		if i == 9 {
			head, _ := db.AuditHead(ctx)
			if err := db.AddAuditCheckpoint(ctx, audit.SignCheckpoint(priv, head, time.Now())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rep := verifyStore(t, db); !rep.OK || rep.Entries != 20 || rep.Checkpoints != 1 {
		t.Fatalf("untouched log: %s", rep)
	}
	cps, _ := db.AuditCheckpoints(ctx)
	if err := cps[0].Verify(pub); err != nil {
		t.Fatalf("stored checkpoint: %v", err)
	}
	got, err := db.AuditEntries(ctx, facegate.AuditFilter{Actor: "key_1", AfterSeq: 3, Limit: 2})
	if err != nil || len(got) != 2 || got[0].Seq != 5 || got[1].Seq != 8 {
		t.Fatalf("filtered: %+v %v", got, err)
	}
	// The application cannot change or remove entries.
	for _, q := range []string{"UPDATE audit_log SET outcome = 'denied' WHERE seq = 5", "DELETE FROM audit_log WHERE seq = 20",
		"DELETE FROM audit_checkpoints"} {
		if _, err := db.write.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Fatalf("%s: %v, want refused", q, err)
		}
	}
	// Someone with the file drops the trigger and edits entry 5: verification says where.
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET outcome = 'denied' WHERE seq = 5"} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rep := verifyStore(t, db)
	if rep.OK || len(rep.Problems) == 0 || rep.Problems[0].Seq != 5 || rep.Problems[0].Kind != "edited" {
		t.Fatalf("edited entry 5: %s", rep)
	}
}
