package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/facegate/facegate/audit"
	"github.com/facegate/facegate/envconfig"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// runAudit is 'facegate audit verify|keygen'.
func runAudit(env *Env, args []string) error {
	if len(args) > 0 && args[0] == "trace" {
		return runAuditTrace(env, args[1:])
	}
	if len(args) == 0 || (args[0] != "verify" && args[0] != "keygen") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(env.Stderr, auditUsage)
			return nil
		}
		return usagef("want 'audit verify', 'audit keygen' or 'audit trace'")
	}
	if args[0] == "keygen" {
		return runAuditKeygen(env, args[1:])
	}
	return runAuditVerify(env, args[1:])
}

const auditUsage = `Usage: facegate audit verify|keygen|trace

  facegate audit verify [--data DIR] [--public-key KEY] [--checkpoints FILE] [--checkpoint-every N] [--json]
      checks the audit log of the store in DIR: every entry's hash, the chain, and the signed checkpoints
      (those in the store, and those in FILE, the copy 'serve --audit-checkpoints FILE' writes); with
      --public-key, a checkpoint signed by it must cover the log up to N entries (default 1000) from its head;
      exit status 1 when anything was edited, removed, inserted, reordered or truncated, with where.
  facegate audit keygen --out FILE
      makes a checkpoint signing key (mode 0600; keep it outside the data directory) for
      'facegate serve --audit-key FILE', and prints its public key for 'audit verify --public-key'.
  facegate audit trace FILE [--data DIR]
      finds which dataset export an image (or manifest, or ZIP) came from: who made it, when, with what
      fingerprint, from the audit log.
`

func runAuditKeygen(env *Env, args []string) error {
	fs := newFlags(env, "audit keygen", "audit keygen --out FILE")
	out := fs.String("out", "", "file to write the private key to (created with mode 0600; must not exist)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out is required")
	}
	pub, priv, err := audit.GenerateKey()
	if err != nil {
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing the key: %w", err)
	}
	if _, err := fmt.Fprintln(f, audit.EncodePrivateKey(priv)); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "private key written to %s (keep it outside the data directory)\npublic key: %s\nkey id: %s\n",
		*out, audit.EncodePublicKey(pub), audit.KeyID(pub))
	return nil
}

func runAuditVerify(env *Env, args []string) error {
	fs := newFlags(env, "audit verify", "audit verify [--data DIR] [--public-key KEY] [--checkpoints FILE] [--checkpoint-every N] [--json]")
	data := fs.String("data", envconfig.Data(), "data directory of the store ($FACEGATE_DATA)")
	pubText := fs.String("public-key", "", "public key that signed the checkpoints (from 'audit keygen'); without it signatures are not checked")
	cpFile := fs.String("checkpoints", "", "file of signed checkpoints kept outside the database ('serve --audit-checkpoints'): the log must match them")
	every := fs.Int64("checkpoint-every", 1000, "with --public-key: the most entries at the head of the log without a signed checkpoint (the server's checkpoint interval)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *every < 1 {
		return usagef("--checkpoint-every must be at least 1")
	}
	var external []audit.Checkpoint
	if *cpFile != "" {
		f, err := os.Open(*cpFile)
		if err != nil {
			return fmt.Errorf("--checkpoints: %w", err)
		}
		external, err = audit.ReadCheckpoints(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("--checkpoints %s: %w", *cpFile, err)
		}
		if len(external) == 0 {
			return fmt.Errorf("--checkpoints %s holds no checkpoint", *cpFile)
		}
	}

	var pub []byte
	if *pubText != "" {
		k, err := audit.ParsePublicKey(*pubText)
		if err != nil {
			return usagef("--public-key: %v", err)
		}
		pub = k
	}
	db, err := openStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := server.VerifyAuditWith(env.Ctx, db, pub, server.VerifyOptions{External: external, CheckpointEvery: *every})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(env.Stdout, rep.String())
		if *cpFile != "" {
			fmt.Fprintf(env.Stdout, "checked against %s from %s\n", plural(len(external), "checkpoint"), *cpFile)
		}
		if pub == nil {
			fmt.Fprintln(env.Stdout, "warning: without --public-key (the audit key's public half), a log that was truncated, or rewritten with every hash recomputed, cannot be detected: only edits that break the chain are")
		}
	}
	if !rep.OK {
		if *cpFile != "" {
			return fmt.Errorf("the audit log does not verify (checked against the store's checkpoints and %s)", *cpFile)
		}
		return errors.New("the audit log does not verify")
	}
	return nil
}

// openStore opens the existing store in data (never creating one: a typo in --data must not make an empty store).
func openStore(data string) (*sqlite.DB, error) {
	if _, err := os.Stat(filepath.Join(data, sqlite.FileName)); err != nil {
		return nil, fmt.Errorf("no store in %s (--data): %w", data, err)
	}
	return sqlite.Open(data)
}

// runAuditTrace finds the export a dataset file came from: the export id written into every image (and the
// manifest and the ZIP comment), then the audit entry that recorded the export.
func runAuditTrace(env *Env, args []string) error {
	fs := newFlags(env, "audit trace", "audit trace FILE [--data DIR]")
	data := fs.String("data", envconfig.Data(), "data directory of the store whose audit log recorded the export ($FACEGATE_DATA)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one FILE (an image, manifest.json or the ZIP of a dataset export)")
	}
	b, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	i := bytes.Index(b, []byte(server.ExportMarker))
	if i < 0 {
		return fmt.Errorf("%s carries no facegate export id", pos[0])
	}
	id := string(b[i+len(server.ExportMarker):])
	if j := strings.IndexFunc(id, func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }); j >= 0 {
		id = id[:j]
	}
	db, err := openStore(*data)
	if err != nil {
		return err
	}
	defer db.Close()
	var found *audit.Entry
	if err := db.EachAudit(env.Ctx, func(e *audit.Entry) error {
		if e.Details["export_id"] == id {
			c := *e
			found = &c
		}
		return nil
	}); err != nil {
		return err
	}
	if found == nil {
		return fmt.Errorf("export %s is not in this store's audit log", id)
	}
	fmt.Fprintf(env.Stdout, "export %s: audit entry %d, %s by key %s at %s, target %s, purpose %s, %s subjects, fingerprint %s\n",
		id, found.Seq, found.Outcome, found.Actor, found.Time.Format(time.RFC3339), found.Target, found.Details["purpose"],
		found.Details["subjects"], found.Details["fingerprint"])
	return nil
}
