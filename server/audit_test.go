package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// TestAuditTrail: enrolments, searches (with whom they matched), deletions, key changes and refusals are in
// the audit log with who, what, when and outcome, and nothing biometric; the chain and its signed checkpoints
// verify; an entry edited in the database file is found and named.
func TestAuditTrail(t *testing.T) {
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, server.Config{AuditKey: priv, AuditCheckpointEvery: 4})
	c := e.client(e.admin)
	ctx := context.Background()
	opKey, err := c.CreateKey(ctx, "door operator", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	op := e.client(opKey.Secret)
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: ptr("staff")}); err != nil {
		t.Fatal(err)
	}
	created, err := op.CreateSubject(ctx, "staff", api.SubjectRequest{ExternalID: ptr("e7"), Consent: consent("e7")}, api.EnrolOptions{},
		fakePhoto(t, fakeFace{7, 0, 100}))
	if err != nil {
		t.Fatal(err)
	}
	sid := created.Subject.ID
	if res, err := op.Search(ctx, "staff", fakePhoto(t, fakeFace{7, 8, 90}), 1); err != nil || len(res.Faces) != 1 || res.Faces[0].Result != api.ResultMatch {
		t.Fatalf("search: %+v %v", res, err)
	}
	if _, err := op.CreateGallery(ctx, api.GalleryRequest{Name: ptr("nope")}); !api.IsCode(err, api.CodeForbidden) {
		t.Fatalf("operator creating a gallery: %v", err)
	}
	if err := op.DeleteSubject(ctx, "staff", sid); err != nil {
		t.Fatal(err)
	}

	// Refusals are counted per key and minute; Close writes the counts of the minute so far.
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	var list api.AuditList
	if code := e.json("GET", "/v1/audit?limit=100", e.admin, nil, &list); code != 200 {
		t.Fatalf("GET /v1/audit: %d", code)
	}
	find := func(action, actor, outcome string) *audit.Entry {
		for i := range list.Entries {
			en := &list.Entries[i]
			if en.Action == action && en.Actor == actor && en.Outcome == outcome {
				return en
			}
		}
		t.Errorf("no audit entry %s by %s with outcome %s", action, actor, outcome)
		return &audit.Entry{}
	}
	if keys, err := c.Keys(ctx); err == nil {
		for _, k := range keys {
			if k.Role == facegate.RoleAdmin {
				find("POST /v1/keys", k.ID, "ok")
			}
		}
	}
	search := find("POST /v1/galleries/{g}/search", opKey.Key.ID, "ok")
	if search.Details["matched"] != sid || search.Details["faces"] != "1" {
		t.Errorf("search entry does not say whom it matched: %v", search.Details)
	}
	find("POST /v1/galleries/{g}/subjects", opKey.Key.ID, "ok")
	if ref := find("refusals", opKey.Key.ID, "refused"); ref.Details["routes"] != "POST /v1/galleries 403=1" || ref.Details["denied"] != "1" {
		t.Errorf("refusal counts: %v", ref.Details)
	}
	del := find("DELETE /v1/galleries/{g}/subjects/{s}", opKey.Key.ID, "ok")
	if !strings.Contains(del.Target, sid) {
		t.Errorf("erasure entry target %q does not name the subject id", del.Target)
	}
	for _, en := range list.Entries {
		for k, v := range en.Details {
			if len(v) > 200 {
				t.Errorf("entry %d detail %s is %d bytes: audit entries must not carry data", en.Seq, k, len(v))
			}
		}
	}
	var cps api.AuditCheckpoints
	if code := e.json("GET", "/v1/audit/checkpoints", e.admin, nil, &cps); code != 200 || len(cps.Checkpoints) == 0 ||
		cps.PublicKey != audit.EncodePublicKey(pub) {
		t.Fatalf("checkpoints: %d %+v", code, cps)
	}
	var rep audit.Report
	if code := e.json("GET", "/v1/audit/verify", e.admin, nil, &rep); code != 200 || !rep.OK || !rep.SignaturesChecked {
		t.Fatalf("verify: %d %+v", code, rep)
	}
	if code := e.json("GET", "/v1/audit", opKey.Secret, nil, nil); code != 403 {
		t.Fatalf("an operator reading the audit log: %d, want 403", code)
	}

	// Tampering with the file: the trigger dropped and the denied request turned into a success.
	target := find("refusals", opKey.Key.ID, "refused").Seq
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(e.dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{"DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET outcome = 'ok' WHERE seq = ?"} {
		if _, err := raw.Exec(q, target); err != nil {
			t.Fatal(err)
		}
	}
	got, err := server.VerifyAudit(ctx, e.store, pub)
	if err != nil {
		t.Fatal(err)
	}
	if got.OK || len(got.Problems) == 0 || got.Problems[0].Seq != target || got.Problems[0].Kind != "edited" {
		t.Fatalf("tampered entry %d: %s %+v", target, got, got.Problems)
	}
	t.Logf("tampered log: %s", got)
}
