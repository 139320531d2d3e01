package server_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/cli"
	"github.com/facegate/facegate/server"
)

// signedLog is a server's data directory whose audit log holds entries 1-240, signed at 240 by the server's
// Close (in the database, and in cpFile when it is not empty); the server is closed.
func signedLog(t *testing.T, priv ed25519.PrivateKey, cpFile string) *env {
	t.Helper()
	e := newEnv(t, server.Config{AuditKey: priv, AuditCheckpoints: cpFile})
	ctx := context.Background()
	for {
		head, err := e.store.AuditHead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if head != nil && head.Seq == 240 {
			break
		}
		if err := e.store.AppendAudit(ctx, &audit.Entry{Time: time.Now().UTC(), Actor: "key_x", Action: "POST /v1/galleries/{g}/search",
			Target: "/v1/galleries/staff/search", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.srv.Close(); err != nil { // signs entry 240
		t.Fatal(err)
	}
	return e
}

// restart starts a new server on e's store, as 'facegate serve' does on the same data directory.
func restart(e *env, cfg server.Config) (*server.Server, error) {
	cfg.Store, cfg.Engine, cfg.Index, cfg.Logger = e.store, fakeAnalyser{}, index.New(facegate.TemplateDim), slog.New(slog.DiscardHandler)
	srv, err := server.New(context.Background(), cfg)
	if err == nil {
		e.t.Cleanup(func() { srv.Close() })
	}
	return srv, err
}

// TestAttackRestartLaundersTruncation replays the red-team finding: the audit log cut to 100 of its 240
// entries, its checkpoints deleted from the database (or kept there), then 'facegate serve' restarted on it.
// The server used to sign a fresh checkpoint at entry 100 and append it to the --audit-checkpoints file, after
// which 'audit verify' said "OK: 101 entries, 1 checkpoint". Now the start is refused, saying which checkpoint
// the log does not extend and what to do; the file gains nothing, and 'audit verify --checkpoints' still fails.
func TestAttackRestartLaundersTruncation(t *testing.T) {
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		file      bool     // the server writes a checkpoints file
		tamper    []string // SQL run on the stopped server's database
		rewrite   int      // entries appended after the tampering (the chain recomputed by the store)
		wantWhere string
		wantWhy   string
	}{
		{name: "cut, checkpoints deleted, file kept", file: true,
			tamper: []string{"DROP TRIGGER audit_checkpoints_no_delete", "DELETE FROM audit_checkpoints",
				"DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq > 100"},
			wantWhere: "the last in ", wantWhy: "the log ends at entry 100"},
		{name: "cut, database checkpoints only",
			tamper:    []string{"DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq > 100"},
			wantWhere: "the last in the database", wantWhy: "the log ends at entry 100"},
		{name: "cut and regrown past the checkpoint, checkpoints deleted, file kept", file: true, rewrite: 160,
			tamper: []string{"DROP TRIGGER audit_checkpoints_no_delete", "DELETE FROM audit_checkpoints",
				"DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq > 100"},
			wantWhere: "the last in ", wantWhy: "entry 240 has hash"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpFile := ""
			if tc.file {
				cpFile = filepath.Join(t.TempDir(), "checkpoints.jsonl")
			}
			e := signedLog(t, priv, cpFile)
			raw := rawDB(t, e.dir)
			for _, q := range tc.tamper {
				if _, err := raw.Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			for range tc.rewrite {
				if err := e.store.AppendAudit(context.Background(), &audit.Entry{Time: time.Now().UTC(), Actor: "key_x", Action: "GET /v1/subjects",
					Target: "/v1/subjects", Outcome: "ok"}); err != nil {
					t.Fatal(err)
				}
			}
			var before []byte
			if cpFile != "" {
				if before, err = os.ReadFile(cpFile); err != nil {
					t.Fatal(err)
				}
			}
			cpsBefore, err := e.store.AuditCheckpoints(context.Background())
			if err != nil {
				t.Fatal(err)
			}

			_, err = restart(e, server.Config{AuditKey: priv, AuditCheckpoints: cpFile})
			if err == nil {
				t.Fatal("the server started on a truncated audit log")
			}
			msg := err.Error()
			for _, want := range []string{"does not extend checkpoint 240", tc.wantWhere + cpFile, tc.wantWhy, "truncated or rewritten",
				"facegate audit verify --data DIR --public-key " + audit.EncodePublicKey(pub), "restore the database from a backup", "the server does not start"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the refusal does not say %q:\n%s", want, msg)
				}
			}
			if tc.file && !strings.Contains(msg, "keep "+cpFile+" as the record of what was lost, and give --audit-checkpoints a new file") {
				t.Errorf("the refusal does not say what to do with the checkpoints file after a restore:\n%s", msg)
			}
			t.Logf("refused: %s", msg)
			if cpFile != "" {
				after, err := os.ReadFile(cpFile)
				if err != nil || string(after) != string(before) {
					t.Fatalf("the checkpoints file changed at the refused start:\nbefore %s\nafter  %s", before, after)
				}
			}
			if cps, err := e.store.AuditCheckpoints(context.Background()); err != nil || len(cps) != len(cpsBefore) {
				t.Fatalf("a checkpoint was signed at the refused start: %d before, %d after (%v)", len(cpsBefore), len(cps), err)
			}

			// 'serve' exits 1 with this sentence (cli.report); 'audit verify' still fails.
			args := []string{"--public-key", audit.EncodePublicKey(pub)}
			if cpFile != "" {
				args = append(args, "--checkpoints", cpFile)
			}
			if code, out := verifyCLI(t, e.dir, args...); code != cli.ExitError {
				t.Fatalf("audit verify after the refused start: exit %d\n%s", code, out)
			}
		})
	}
}

// TestAttackLaunderedCheckpointStillFails: a checkpoints file that already holds a checkpoint signed over the
// cut head (by a server without this fix), after the older one at 240, does not make the truncated log verify:
// every checkpoint in the file is checked, and the one at 240 is past the log's end.
func TestAttackLaunderedCheckpointStillFails(t *testing.T) {
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	e := signedLog(t, priv, cpFile)
	raw := rawDB(t, e.dir)
	for _, q := range []string{"DROP TRIGGER audit_checkpoints_no_delete", "DELETE FROM audit_checkpoints",
		"DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq > 100"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	head, err := e.store.AuditHead(context.Background())
	if err != nil || head.Seq != 100 {
		t.Fatalf("head after the cut: %v %v", head, err)
	}
	laundered := audit.SignCheckpoint(priv, head, time.Now())
	if err := e.store.AddAuditCheckpoint(context.Background(), laundered); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(laundered)
	f, err := os.OpenFile(cpFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s\n", b)
	f.Close()

	code, out := verifyCLI(t, e.dir, "--public-key", audit.EncodePublicKey(pub))
	if code != cli.ExitOK {
		t.Fatalf("without the file the laundered log verifies (what the file is for): exit %d\n%s", code, out)
	}
	code, out = verifyCLI(t, e.dir, "--public-key", audit.EncodePublicKey(pub), "--checkpoints", cpFile)
	if code != cli.ExitError || !strings.Contains(out, "missing from the end") || !strings.Contains(out, "up to 240") ||
		!strings.Contains(out, "the checkpoint at entry 100 was signed later") {
		t.Fatalf("the laundered log against the checkpoints file: exit %d\n%s", code, out)
	}
	t.Logf("laundered:\n%s", out)
}

// TestCheckpointNotSignedOverCutLog: a log cut while the server runs, and grown again past its last checkpoint,
// is not signed (the checkpoint is refused, logged and counted); the file gains nothing.
func TestCheckpointNotSignedOverCutLog(t *testing.T) {
	_, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	e := newEnv(t, server.Config{AuditKey: priv, AuditCheckpoints: cpFile, AuditCheckpointEvery: 50})
	ctx := context.Background()
	add := func(n int) {
		t.Helper()
		for range n {
			if err := e.store.AppendAudit(ctx, &audit.Entry{Time: time.Now().UTC(), Actor: "key_x", Action: "GET /v1/subjects",
				Target: "/v1/subjects", Outcome: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(60)
	var rep audit.Report
	if code := e.json("GET", "/v1/audit/verify", e.admin, nil, &rep); code != 200 || !rep.OK {
		t.Fatalf("untouched: %d %s", code, &rep)
	}
	before, err := os.ReadFile(cpFile)
	if err != nil || len(before) == 0 {
		t.Fatalf("checkpoints file: %q %v", before, err)
	}
	if _, err := rawDB(t, e.dir).Exec("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq > 20"); err != nil {
		t.Fatal(err)
	}
	add(80)
	if code := e.json("GET", "/v1/audit/verify", e.admin, nil, &rep); code != 200 || rep.OK {
		t.Fatalf("cut and regrown: %d %s", code, &rep)
	}
	after, err := os.ReadFile(cpFile)
	if err != nil || string(after) != string(before) {
		t.Fatalf("a checkpoint was signed over the cut log:\nbefore %s\nafter  %s", before, after)
	}
	if m := metricsText(t, e); !strings.Contains(m, "facegate_audit_checkpoints_refused_total") {
		t.Fatal("the refused checkpoint is not counted")
	}
}

// TestRestartOnIntactLog: the start check raises no false alarm: an untouched log restarts, also with its
// checkpoints deleted from the database (the file's last one still matches); after a restore from an older
// backup, the server starts with a new checkpoints file, as the refusal says, while the old file keeps failing
// 'audit verify' on the restored log.
func TestRestartOnIntactLog(t *testing.T) {
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	e := signedLog(t, priv, cpFile)
	srv, err := restart(e, server.Config{AuditKey: priv, AuditCheckpoints: cpFile})
	if err != nil {
		t.Fatalf("restart on the untouched log: %v", err)
	}
	srv.Close()
	raw := rawDB(t, e.dir)
	if _, err := raw.Exec("DROP TRIGGER audit_checkpoints_no_delete; DELETE FROM audit_checkpoints"); err != nil {
		t.Fatal(err)
	}
	srv, err = restart(e, server.Config{AuditKey: priv, AuditCheckpoints: cpFile})
	if err != nil {
		t.Fatalf("restart with the database's checkpoints deleted, the log untouched: %v", err)
	}
	srv.Close()

	// "Restored from a backup" taken at entry 100.
	if _, err := raw.Exec("DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq > 100; DELETE FROM audit_checkpoints"); err != nil {
		t.Fatal(err)
	}
	if _, err := restart(e, server.Config{AuditKey: priv, AuditCheckpoints: cpFile}); err == nil {
		t.Fatal("started on the restored log with the old checkpoints file")
	}
	newFile := filepath.Join(t.TempDir(), "checkpoints-2.jsonl")
	srv, err = restart(e, server.Config{AuditKey: priv, AuditCheckpoints: newFile})
	if err != nil {
		t.Fatalf("restart on the restored log with a new checkpoints file: %v", err)
	}
	srv.Close()
	if code, out := verifyCLI(t, e.dir, "--public-key", audit.EncodePublicKey(pub), "--checkpoints", newFile); code != cli.ExitOK {
		t.Fatalf("the restored log against the new file: exit %d\n%s", code, out)
	}
	if code, out := verifyCLI(t, e.dir, "--public-key", audit.EncodePublicKey(pub), "--checkpoints", cpFile); code != cli.ExitError {
		t.Fatalf("the restored log against the old file: exit %d\n%s", code, out)
	}
}
