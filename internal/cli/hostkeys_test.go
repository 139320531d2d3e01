package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// noAnalysis is the analyser of a server whose test only calls key routes, which analyse no image: any call
// panics (the nil interface), so the test would show it.
type noAnalysis struct{ engine.Analyzer }

// TestKeysAdminRecovery: every admin key is lost (only its hash is stored); 'facegate keys admin --data DIR' on
// the host makes a new one, printed once, that a server on the same store accepts as admin, audited as actor
// "host". 'keys revoke' then revokes the lost key, and refuses to revoke the last admin key (exit 1, saying
// why), as the API does.
func TestKeysAdminRecovery(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	lost := &facegate.APIKey{Name: "initial admin", Role: facegate.RoleAdmin, Hash: []byte("hash of a secret nobody has any more")}
	if err := db.CreateKey(ctx, lost); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, errs := run(t, "keys", "admin", "--data", dir, "--name", "recovered")
	if code != ExitOK {
		t.Fatalf("keys admin: exit %d %q %q", code, out, errs)
	}
	fields := strings.Fields(out)
	secret := fields[len(fields)-1]
	if !strings.HasPrefix(secret, "fg_") || len(secret) < 40 {
		t.Fatalf("keys admin printed %q", out)
	}

	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := server.New(ctx, server.Config{Store: st, Engine: noAnalysis{}, Index: index.New(facegate.TemplateDim)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/v1/keys", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Keys []facegate.APIKey }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(list.Keys) != 2 || list.Keys[1].Name != "recovered" || list.Keys[1].Role != facegate.RoleAdmin {
		t.Fatalf("the recovered key listing keys: %d %+v", resp.StatusCode, list.Keys)
	}
	newID := list.Keys[1].ID
	sum := sha256.Sum256([]byte(secret))
	if k, err := st.KeyByHash(ctx, sum[:]); err != nil || k.ID != newID {
		t.Fatalf("stored hash of the printed secret: %+v %v", k, err)
	}
	host, err := st.AuditEntries(ctx, facegate.AuditFilter{Actor: "host"})
	if err != nil || len(host) != 1 || host[0].Action != "key.create" || host[0].Target != "keys/"+newID {
		t.Fatalf("host audit entries: %+v %v", host, err)
	}
	if strings.Contains(host[0].Details["role"]+host[0].Target, secret) {
		t.Fatal("the audit entry holds the secret")
	}

	if code, out, errs := run(t, "keys", "revoke", lost.ID, "--data", dir); code != ExitOK || !strings.Contains(out, "revoked") {
		t.Fatalf("revoking the lost key: exit %d %q %q", code, out, errs)
	}
	code, _, errs = run(t, "keys", "revoke", newID, "--data", dir)
	if code != ExitError || !strings.Contains(errs, "last admin key") || !strings.Contains(errs, "facegate keys admin") {
		t.Fatalf("revoking the last admin key: exit %d %q", code, errs)
	}
	if k, err := st.KeyByHash(ctx, sum[:]); err != nil || k.Revoked {
		t.Fatalf("the last admin key after the refused revocation: %+v %v", k, err)
	}
	host, _ = st.AuditEntries(ctx, facegate.AuditFilter{Actor: "host"})
	if len(host) != 3 || host[2].Action != "key.revoke" || host[2].Outcome != "rejected" {
		t.Fatalf("host audit entries after the revocations: %+v", host)
	}
	for _, args := range [][]string{{"keys", "revoke", "--data", dir}, {"keys", "admin", "extra", "--data", dir}} {
		if code, _, _ := run(t, args...); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
	}
	if code, _, errs := run(t, "keys", "admin", "--data", t.TempDir()); code != ExitError || !strings.Contains(errs, "no store") {
		t.Errorf("keys admin on an empty directory: exit %d %q", code, errs)
	}
}

// TestServeRefusesWeakAdminKey: a FACEGATE_ADMIN_KEY that is short or guessable stops 'facegate serve' before
// it opens anything, with a sentence saying how to make a good one.
func TestServeRefusesWeakAdminKey(t *testing.T) {
	for _, weak := range []string{"admin", "passwordpasswordpasswordpassword", strings.Repeat("a", 64)} {
		t.Setenv("FACEGATE_ADMIN_KEY", weak)
		dir := filepath.Join(t.TempDir(), "data")
		code, _, errs := run(t, "serve", "--data", dir, "--addr", "127.0.0.1:0")
		if code != ExitError || !strings.Contains(errs, "FACEGATE_ADMIN_KEY") || !strings.Contains(errs, "openssl rand") {
			t.Errorf("serve with FACEGATE_ADMIN_KEY=%q: exit %d %q", weak, code, errs)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("serve with a weak admin key created the store: %v", err)
		}
	}
}

// TestKeyFilesOutsideData: the key files (--template-key, --audit-key, --template-secret, --tls-key) must lie
// outside the data directory, judged with symlinks resolved: a symlink in the data directory to a file outside
// is refused (whoever writes the data directory can repoint it), as is a file inside reached through a symlinked
// path or a symlinked data directory; a file really outside is accepted, also when the data directory does not
// exist yet.
func TestKeyFilesOutsideData(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "data")
	etc := filepath.Join(root, "etc")
	for _, d := range []string{data, etc} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	outside := filepath.Join(etc, "audit.key")
	inside := filepath.Join(data, "audit.key")
	for _, f := range []string{outside, inside} {
		if err := os.WriteFile(f, []byte("k"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) string {
		p := filepath.Join(root, name)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	linkInData := filepath.Join(data, "key-link")
	if err := os.Symlink(outside, linkInData); err != nil {
		t.Fatal(err)
	}
	dataLink := link(data, "data-link")   // a symlinked data directory
	otherWay := link(data, "backdoor")    // another way into the data directory
	outsideLink := link(outside, "k.lnk") // a symlink outside to a file outside
	for _, tc := range []struct {
		name, key, data string
		ok              bool
	}{
		{"file outside", outside, data, true},
		{"symlink outside to a file outside", outsideLink, data, true},
		{"file outside, symlinked data directory", outside, dataLink, true},
		{"file outside, data directory not made yet", outside, filepath.Join(root, "new"), true},
		{"file inside", inside, data, false},
		{"symlink in the data directory to a file outside", linkInData, data, false},
		{"file inside by its real path, data directory given as a symlink", inside, dataLink, false},
		{"file inside through a symlinked path", filepath.Join(otherWay, "audit.key"), data, false},
		{"file inside, relative path with ..", filepath.Join(etc, "..", "data", "audit.key"), data, false},
		{"the data directory itself", dataLink, data, false},
		{"inside a data directory not made yet", filepath.Join(root, "new", "k"), filepath.Join(root, "new"), false},
	} {
		err := checkOutsideData("--audit-key", tc.key, tc.data, "test")
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
	// Through the command: serve refuses the symlink in the data directory before it starts.
	for _, flag := range []string{"--audit-key", "--tls-key", "--template-key", "--template-secret"} {
		args := []string{"serve", "--data", dataLink, "--addr", "127.0.0.1:0", flag, filepath.Join(otherWay, "audit.key")}
		if flag == "--tls-key" {
			args = append(args, "--tls-cert", outside)
		}
		code, _, errs := run(t, args...)
		if code != ExitUsage || !strings.Contains(errs, flag+" must not be inside the data directory") {
			t.Errorf("serve %s inside the data directory: exit %d %q", flag, code, errs)
		}
	}
}
