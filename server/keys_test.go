package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/facegate/facegate/server"
)

// TestCheckAdminSecret: an admin key chosen by a person (FACEGATE_ADMIN_KEY) needs 32 characters and an
// estimated 80 bits: short, repeated, sequential and padded secrets are refused with a sentence saying how to make
// one; random ones in the usual encodings (hex, base64, facegate's own) pass, every time.
func TestCheckAdminSecret(t *testing.T) {
	for _, tc := range []struct {
		secret, want string
	}{
		{"", "at least 32"},
		{"hunter2", "at least 32"},
		{strings.Repeat("a", 40), "too predictable"},
		{"passwordpasswordpasswordpassword", "too predictable"},
		{"abcdefghijklmnopqrstuvwxyz0123456789", "too predictable"},
		{"Summer2026!" + strings.Repeat("0", 30), "too predictable"},
		{"adminadminadmin-1234567890-adminadmin", "too predictable"},
		{"correct-horse-battery-staple-pile-of-words", ""},
	} {
		err := server.CheckAdminSecret(tc.secret)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.secret, err, tc.want)
		}
	}
	for i := range 2000 {
		b := make([]byte, 24)
		rand.Read(b)
		for _, s := range []string{hex.EncodeToString(b[:16]), base64.StdEncoding.EncodeToString(b), "fg_" + base64.RawURLEncoding.EncodeToString(b)} {
			if err := server.CheckAdminSecret(s); err != nil {
				t.Fatalf("random secret %d %q refused (%.0f bits): %v", i, s, server.SecretBits(s), err)
			}
		}
	}
}
