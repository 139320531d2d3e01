package server

import (
	"context"
	"fmt"
	"math"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

// Admin secrets given by people (FACEGATE_ADMIN_KEY) must be at least MinAdminSecretLen characters long and carry
// an estimated MinAdminSecretBits bits of entropy (SecretBits). Keys the server makes are 256-bit random values.
const (
	MinAdminSecretLen  = 32
	MinAdminSecretBits = 80
)

// CheckAdminSecret refuses an admin secret chosen by a person that is too short or too guessable, with a sentence
// saying how to make a good one.
func CheckAdminSecret(secret string) error {
	const advice = "generate one with 'openssl rand -base64 32', or leave FACEGATE_ADMIN_KEY unset and the first start prints a random one"
	if len(secret) < MinAdminSecretLen {
		return fmt.Errorf("FACEGATE_ADMIN_KEY is %d characters long; an admin key needs at least %d: %s", len(secret), MinAdminSecretLen, advice)
	}
	if bits := SecretBits(secret); bits < MinAdminSecretBits {
		return fmt.Errorf("FACEGATE_ADMIN_KEY is too predictable (about %.0f bits of entropy, repeated or sequential characters; at least %d needed): %s",
			bits, MinAdminSecretBits, advice)
	}
	return nil
}

// SecretBits estimates the entropy of a secret in bits: the Shannon entropy of its characters' frequencies, times
// the number of characters that could not be predicted from the ones before. A character is predictable when it
// continues the step of the two before it ("aaa", "abc", "2468") or ends a three-character sequence that occurred
// earlier ("passwordpassword"). A random string scores about its true entropy or a little less (32 random hex
// digits: about 110 bits); repeated and sequential text scores little.
func SecretBits(secret string) float64 {
	s := []byte(secret)
	if len(s) == 0 {
		return 0
	}
	counts := map[byte]int{}
	for _, c := range s {
		counts[c]++
	}
	perChar := 0.0
	for _, n := range counts {
		p := float64(n) / float64(len(s))
		perChar -= p * math.Log2(p)
	}
	seen := map[string]bool{}
	free := 0
	for i := range s {
		predictable := false
		if i >= 3 {
			seen[string(s[i-3:i])] = true // the trigrams that end before this character
		}
		if i >= 2 {
			step := int(s[i-1]) - int(s[i-2])
			predictable = int(s[i])-int(s[i-1]) == step || seen[string(s[i-2:i+1])]
		}
		if !predictable {
			free++
		}
	}
	return perChar * float64(free)
}

// HostActor is the audit actor of what is done on the host with direct access to the store ('facegate keys
// admin', 'facegate keys revoke'), not through the API.
const HostActor = "host"

// CreateHostAdminKey creates a new admin key named name directly in st, for a host that has lost every admin key
// (the recovery path: 'facegate keys admin --data DIR'), records it in the audit log as actor "host", and returns
// the key and its secret, to be shown once.
func CreateHostAdminKey(ctx context.Context, st facegate.Store, name string) (*facegate.APIKey, string, error) {
	secret := newSecret()
	k := &facegate.APIKey{Name: name, Role: facegate.RoleAdmin, Hash: hashKey(secret)}
	if err := st.CreateKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("server: creating an admin key: %w", err)
	}
	if err := st.AppendAudit(ctx, &audit.Entry{Actor: HostActor, Action: "key.create", Target: "keys/" + k.ID, Outcome: "ok",
		Details: map[string]string{"role": string(k.Role)}}); err != nil {
		return nil, "", fmt.Errorf("server: auditing the new admin key %s: %w", k.ID, err)
	}
	return k, secret, nil
}

// RevokeHostKey revokes key id directly in st (refused for the last admin key in force, facegate.ErrLastAdminKey)
// and records the attempt in the audit log as actor "host".
func RevokeHostKey(ctx context.Context, st facegate.Store, id string) error {
	err := st.RevokeKey(ctx, id)
	outcome := "ok"
	if err != nil {
		outcome = "rejected"
	}
	if aerr := st.AppendAudit(ctx, &audit.Entry{Actor: HostActor, Action: "key.revoke", Target: "keys/" + trimID(id), Outcome: outcome}); aerr != nil && err == nil {
		return fmt.Errorf("server: auditing the revocation of key %s: %w", id, aerr)
	}
	return err
}

// trimID bounds an id typed on the host for the audit log.
func trimID(id string) string {
	if len(id) > 64 {
		return id[:64]
	}
	return id
}
