package server_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/internal/cli"
	"github.com/facegate/facegate/server"
)

// verifyCLI runs 'facegate audit verify --data DIR' with args and returns its exit status and output.
func verifyCLI(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	var out, errs bytes.Buffer
	code := cli.Main(context.Background(), append([]string{"audit", "verify", "--data", dir}, args...), &out, &errs)
	return code, out.String() + errs.String()
}

// TestAttackDeletedCheckpoints replays issue 12 finding 3: with the signed checkpoints deleted from the
// database, a truncated or consistently rewritten log verified as "OK ... 0 checkpoints" even with
// --public-key. Now 'audit verify --public-key' requires a signed checkpoint near the head, and the server
// also appends its checkpoints to a file outside the database, which 'audit verify --checkpoints' checks the
// log against: the deleted checkpoints, the truncation and the rewrite each fail, saying why. Without a public
// key, verify says plainly what it cannot detect.
func TestAttackDeletedCheckpoints(t *testing.T) {
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pubText := audit.EncodePublicKey(pub)
	cpFile := filepath.Join(t.TempDir(), "checkpoints.jsonl")
	e := newEnv(t, server.Config{AuditKey: priv, AuditCheckpointEvery: 5, AuditCheckpoints: cpFile})
	for i := range 17 {
		if code := e.json("POST", "/v1/galleries", e.admin, api.GalleryRequest{Name: ptr(fmt.Sprintf("g%d", i))}, nil); code != 201 {
			t.Fatalf("create gallery: %d", code)
		}
	}
	if err := e.srv.Close(); err != nil { // signs the head
		t.Fatal(err)
	}
	every := []string{"--public-key", pubText, "--checkpoint-every", "5"}
	if code, out := verifyCLI(t, e.dir, append(every, "--checkpoints", cpFile)...); code != cli.ExitOK || !strings.HasPrefix(out, "OK") {
		t.Fatalf("untouched log: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(cpFile)
	if err != nil || bytes.Count(b, []byte("\n")) < 3 {
		t.Fatalf("checkpoints file: %q %v", b, err)
	}

	raw := rawDB(t, e.dir)
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec("DROP TRIGGER audit_checkpoints_no_delete", "DELETE FROM audit_checkpoints")
	// The server's own verification reads its checkpoints file too: the untouched log is still covered.
	var rep audit.Report
	if code := e.json("GET", "/v1/audit/verify", e.admin, nil, &rep); code != 200 || !rep.OK || rep.Checkpoints < 3 {
		t.Fatalf("GET /v1/audit/verify with the database's checkpoints deleted: %d %s", code, &rep)
	}
	code, out := verifyCLI(t, e.dir, every...)
	if code != cli.ExitError || !strings.Contains(out, "no checkpoint signed by the audit key") {
		t.Fatalf("checkpoints deleted: exit %d\n%s", code, out)
	}
	t.Logf("checkpoints deleted:\n%s", out)

	// Truncated: the last 7 entries gone, with the checkpoints.
	exec("DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 7 FROM audit_log)")
	code, out = verifyCLI(t, e.dir, append(every, "--checkpoints", cpFile)...)
	if code != cli.ExitError || !strings.Contains(out, "missing from the end") || !strings.Contains(out, cpFile) {
		t.Fatalf("truncated log against the checkpoints file: exit %d\n%s", code, out)
	}
	t.Logf("truncated:\n%s", out)

	// Rewritten consistently: entry 3 changed and every hash after it recomputed.
	entries := auditEntries(t, e)
	exec("DROP TRIGGER audit_log_no_update", "DELETE FROM audit_log")
	for _, en := range entries { // AppendAudit chains each again: every hash recomputed
		if en.Seq == 3 {
			en.Outcome = "denied"
		}
		if err := e.store.AppendAudit(context.Background(), &audit.Entry{Time: en.Time, Actor: en.Actor, Action: en.Action,
			Target: en.Target, Outcome: en.Outcome, Details: en.Details}); err != nil {
			t.Fatal(err)
		}
	}
	if code, out := verifyCLI(t, e.dir); code != cli.ExitOK || !strings.Contains(out, "cannot be detected") {
		t.Fatalf("the rewritten log without a key: exit %d\n%s (want OK, with the warning that rewriting cannot be detected)", code, out)
	}
	code, out = verifyCLI(t, e.dir, append(every, "--checkpoints", cpFile)...)
	if code != cli.ExitError || !strings.Contains(out, "rewritten") {
		t.Fatalf("rewritten log against the checkpoints file: exit %d\n%s", code, out)
	}
	t.Logf("rewritten:\n%s", out)
}

// TestAuditVerifyFreshLog: a server with its audit key verifying its own young log (no sweep yet) signs the
// head first, so the required checkpoint is no false alarm.
func TestAuditVerifyFreshLog(t *testing.T) {
	_, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, server.Config{AuditKey: priv})
	if code := e.json("POST", "/v1/galleries", e.admin, api.GalleryRequest{Name: ptr("staff")}, nil); code != 201 {
		t.Fatalf("create gallery: %d", code)
	}
	var rep audit.Report
	if code := e.json("GET", "/v1/audit/verify", e.admin, nil, &rep); code != 200 || !rep.OK || rep.Checkpoints != 1 {
		t.Fatalf("GET /v1/audit/verify of a fresh log: %d %s", code, &rep)
	}
}
