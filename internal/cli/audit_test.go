package cli

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// TestAuditVerifyCLI: 'facegate audit keygen' makes a private key file and prints the public key; 'audit
// verify' passes an untouched log with signed checkpoints, and fails (exit 1) naming the entry after someone
// removed one from the database file.
func TestAuditVerifyCLI(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "audit.key")
	code, out, errs := run(t, "audit", "keygen", "--out", keyFile)
	if code != ExitOK {
		t.Fatalf("keygen: exit %d %s", code, errs)
	}
	var pubText string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "public key: "); ok {
			pubText = v
		}
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 || pubText == "" {
		t.Fatalf("key file %v %v, public key %q", fi, err, pubText)
	}
	priv, err := audit.LoadPrivateKey(keyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 1; i <= 12; i++ {
		if err := db.AppendAudit(ctx, &audit.Entry{Actor: "key_a", Action: "search", Outcome: "ok", Details: map[string]string{"n": strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 {
			head, _ := db.AuditHead(ctx)
			if err := db.AddAuditCheckpoint(ctx, audit.SignCheckpoint(priv, head, time.Now())); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
	code, out, errs = run(t, "audit", "verify", "--data", dir, "--public-key", pubText)
	if code != ExitOK || !strings.HasPrefix(out, "OK") {
		t.Fatalf("verify: exit %d %q %q", code, out, errs)
	}
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE seq = 7"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	code, out, errs = run(t, "audit", "verify", "--data", dir, "--public-key", pubText)
	if code != ExitError || !strings.Contains(out, "7") || !strings.Contains(out, "removed") {
		t.Fatalf("verify after removing entry 7: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("%s", out)
	if code, _, errs := run(t, "audit", "verify", "--data", t.TempDir()); code != ExitError || !strings.Contains(errs, "no store") {
		t.Fatalf("no store: exit %d %q", code, errs)
	}
	if code, _, _ := run(t, "audit", "frobnicate"); code != ExitUsage {
		t.Fatalf("unknown subcommand: exit %d", code)
	}
}

// TestAuditTraceCLI: a file carrying a dataset export id is traced to the audit entry that recorded the export.
func TestAuditTraceCLI(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(context.Background(), &audit.Entry{Actor: "key_7", Action: "POST /v1/galleries/{g}/datasets",
		Target: "galleries/lab/datasets", Outcome: "ok", Details: map[string]string{"export_id": "dsx_0123abcd", "fingerprint": "f00d", "subjects": "3", "purpose": "research_dataset"}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	found := filepath.Join(t.TempDir(), "found.jpg")
	os.WriteFile(found, []byte("\xff\xd8\xff\xfe\x00\x20"+server.ExportMarker+"dsx_0123abcd\xff\xdb rest of a jpeg"), 0o644)
	code, out, errs := run(t, "audit", "trace", found, "--data", dir)
	if code != ExitOK || !strings.Contains(out, "dsx_0123abcd") || !strings.Contains(out, "key_7") || !strings.Contains(out, "f00d") {
		t.Fatalf("trace: exit %d %q %q", code, out, errs)
	}
	plain := filepath.Join(t.TempDir(), "plain.jpg")
	os.WriteFile(plain, []byte("\xff\xd8\xff\xe0 no marker"), 0o644)
	if code, _, errs := run(t, "audit", "trace", plain, "--data", dir); code != ExitError || !strings.Contains(errs, "no facegate export id") {
		t.Fatalf("file without an export id: exit %d %q", code, errs)
	}
}
