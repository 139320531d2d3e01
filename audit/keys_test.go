package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestKeyEncoding(t *testing.T) {
	pub, priv, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s := EncodePrivateKey(priv)
	if !strings.HasPrefix(s, "fgaudit-ed25519:") {
		t.Fatalf("encoding %q", s)
	}
	back, err := ParsePrivateKey("  " + s + "\n")
	if err != nil || !back.Equal(priv) {
		t.Fatalf("ParsePrivateKey: %v", err)
	}
	ps := EncodePublicKey(pub)
	pback, err := ParsePublicKey(ps + "\n")
	if err != nil || !pback.Equal(pub) {
		t.Fatalf("ParsePublicKey: %v", err)
	}
	if id := KeyID(pub); len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("KeyID %q", id)
	}
	if KeyID(testPub) == KeyID(otherKey.Public().(ed25519.PublicKey)) {
		t.Fatal("two keys share an id")
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	secret := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32))
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"   \n", "empty"},
		{"hunter2", "must start with"},
		{secret, "must start with"},
		{"ed25519:" + secret, "must start with"},
		{EncodePublicKey(testPub), "this is a public key"},
		{PrivateKeyPrefix + "not base64!!", "not valid base64"},
		{PrivateKeyPrefix + base64.StdEncoding.EncodeToString([]byte("short")), "holds 5 bytes, want a 32-byte"},
		{PrivateKeyPrefix + base64.StdEncoding.EncodeToString(testKey), "holds 64 bytes"},
		{PrivateKeyPrefix, "holds 0 bytes"},
	} {
		_, err := ParsePrivateKey(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePrivateKey(%q) = %v, want an error with %q", tc.in, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error repeats the key: %v", err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{EncodePrivateKey(testKey), "this is the private key"},
		{"xyz", "must start with"},
		{PublicKeyPrefix + "%%%", "not valid base64"},
		{PublicKeyPrefix + "AAAA", "holds 3 bytes"},
	} {
		if _, err := ParsePublicKey(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParsePublicKey(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestLoadPrivateKey(t *testing.T) {
	const env = "FACEGATE_TEST_AUDIT_KEY"
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.key")
	if err := os.WriteFile(path, []byte(EncodePrivateKey(testKey)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(env, EncodePrivateKey(otherKey))

	k, err := LoadPrivateKey(path, env)
	if err != nil || !k.Equal(testKey) {
		t.Fatalf("file 0600: %v", err)
	}
	k, err = LoadPrivateKey("", env)
	if err != nil || !k.Equal(otherKey) {
		t.Fatalf("env: %v", err)
	}

	if runtime.GOOS != "windows" {
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadPrivateKey(path, env)
			if err == nil || !strings.Contains(err.Error(), "chmod 600 "+path) {
				t.Errorf("mode %04o: err = %v, want it refused with chmod advice", mode, err)
			}
		}
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadPrivateKey(path, env); err != nil {
			t.Errorf("mode 0400: %v", err)
		}
	}

	if _, err := LoadPrivateKey(filepath.Join(dir, "missing"), env); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadPrivateKey(dir, env); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	garbage := filepath.Join(dir, "garbage.key")
	if err := os.WriteFile(garbage, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(garbage, env); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("garbage file: %v", err)
	}

	t.Setenv(env, "garbage")
	if _, err := LoadPrivateKey("", env); err == nil || !strings.Contains(err.Error(), "$"+env) || errors.Is(err, ErrNoKey) {
		t.Errorf("garbage env: %v", err)
	}
	t.Setenv(env, "")
	if _, err := LoadPrivateKey("", env); !errors.Is(err, ErrNoKey) {
		t.Errorf("empty env: %v", err)
	}
	os.Unsetenv(env)
	if _, err := LoadPrivateKey("", env); !errors.Is(err, ErrNoKey) {
		t.Errorf("unset env: %v", err)
	}
	if _, err := LoadPrivateKey("", ""); !errors.Is(err, ErrNoKey) {
		t.Errorf("nothing given: %v", err)
	}
}

func TestCheckpointSignVerify(t *testing.T) {
	log := genLog(3)
	at := time.Date(2025, 3, 1, 13, 0, 0, 7, time.FixedZone("X", 3600))
	c := SignCheckpoint(testKey, &log[2], at)
	if c.Seq != 3 || c.Hash != log[2].Hash || c.KeyID != KeyID(testPub) || c.Time.Location() != time.UTC || !c.Time.Equal(at) {
		t.Fatalf("checkpoint %+v", c)
	}
	if err := c.Verify(testPub); err != nil {
		t.Fatal(err)
	}
	// A JSON round trip keeps it valid.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Checkpoint
	if err := json.Unmarshal(b, &back); err != nil || back.Verify(testPub) != nil {
		t.Fatalf("round trip %s: %v %v", b, err, back.Verify(testPub))
	}
	for _, k := range []string{`"seq":3`, `"hash":`, `"time":"2025-03-01T12:00:00.000000007Z"`, `"key_id":`, `"signature":`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON %s lacks %s", b, k)
		}
	}

	for name, mut := range map[string]func(c *Checkpoint){
		"seq":       func(c *Checkpoint) { c.Seq++ },
		"hash":      func(c *Checkpoint) { c.Hash = log[1].Hash },
		"time":      func(c *Checkpoint) { c.Time = c.Time.Add(time.Nanosecond) },
		"signature": func(c *Checkpoint) { c.Signature = base64.StdEncoding.EncodeToString(make([]byte, 64)) },
		"garbage":   func(c *Checkpoint) { c.Signature = "!!" },
		"key id":    func(c *Checkpoint) { c.KeyID = KeyID(otherKey.Public().(ed25519.PublicKey)) },
	} {
		d := c
		mut(&d)
		if err := d.Verify(testPub); err == nil {
			t.Errorf("%s altered: Verify passed", name)
		}
	}
	if err := c.Verify(otherKey.Public().(ed25519.PublicKey)); err == nil || !strings.Contains(err.Error(), "not by the audit key") {
		t.Errorf("other key: %v", err)
	}
	if err := c.Verify(nil); err == nil {
		t.Error("nil key: Verify passed")
	}
	// Re-labelled with the other key's id, then signed by it: still refused by ours.
	forged := SignCheckpoint(otherKey, &log[2], at)
	forged.KeyID = c.KeyID
	if err := forged.Verify(testPub); err == nil {
		t.Error("forged checkpoint verified")
	}

	empty := SignCheckpoint(testKey, nil, at)
	if empty.Seq != 0 || empty.Hash != "" || empty.Verify(testPub) != nil {
		t.Fatalf("empty-log checkpoint %+v", empty)
	}
}
