package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
)

// Text forms of the checkpoint keys: a prefix and the standard base64 (with padding) of the 32-byte ed25519
// seed (private) or public key.
const (
	PrivateKeyPrefix = "fgaudit-ed25519:"
	PublicKeyPrefix  = "fgaudit-ed25519-pub:"
)

// ErrNoKey is returned (wrapped) by LoadPrivateKey when neither a key file nor the environment variable is set,
// so that a caller can run without checkpoints (and say so) rather than fail.
var ErrNoKey = errors.New("audit: no checkpoint signing key configured")

// GenerateKey makes a new checkpoint signing key pair from crypto/rand.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: generating a key: %w", err)
	}
	return pub, priv, nil
}

// EncodePrivateKey returns the text form of priv: PrivateKeyPrefix + base64 of its 32-byte seed. It is a secret:
// keep it out of the data directory, logs and backups of the data.
func EncodePrivateKey(priv ed25519.PrivateKey) string {
	return PrivateKeyPrefix + base64.StdEncoding.EncodeToString(priv.Seed())
}

// ParsePrivateKey reads the text form made by EncodePrivateKey. Surrounding white space (a file's trailing
// newline) is ignored. Errors never repeat the input, which may be a secret.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, errors.New("audit: the private key is empty")
	case strings.HasPrefix(s, PublicKeyPrefix):
		return nil, errors.New("audit: this is a public key (" + PublicKeyPrefix + "...); signing needs the private key (" + PrivateKeyPrefix + "...)")
	case !strings.HasPrefix(s, PrivateKeyPrefix):
		return nil, errors.New("audit: not an audit private key: it must start with \"" + PrivateKeyPrefix + "\"")
	}
	seed, err := base64.StdEncoding.DecodeString(s[len(PrivateKeyPrefix):])
	if err != nil {
		return nil, errors.New("audit: the private key is not valid base64 after \"" + PrivateKeyPrefix + "\"")
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit: the private key holds %d bytes, want a %d-byte ed25519 seed", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// EncodePublicKey returns the text form of pub: PublicKeyPrefix + base64 of its 32 bytes. It is not a secret:
// give it to whoever verifies the log.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return PublicKeyPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads the text form made by EncodePublicKey. It refuses a private key, so that one is not
// handed around by mistake as the verification key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, errors.New("audit: the public key is empty")
	case strings.HasPrefix(s, PrivateKeyPrefix):
		return nil, errors.New("audit: this is the private key; give the public key (" + PublicKeyPrefix + "...) to verifiers and keep the private key secret")
	case !strings.HasPrefix(s, PublicKeyPrefix):
		return nil, errors.New("audit: not an audit public key: it must start with \"" + PublicKeyPrefix + "\"")
	}
	b, err := base64.StdEncoding.DecodeString(s[len(PublicKeyPrefix):])
	if err != nil {
		return nil, errors.New("audit: the public key is not valid base64 after \"" + PublicKeyPrefix + "\"")
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit: the public key holds %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// KeyID names a public key: the first 16 hex characters of the SHA-256 of its 32 bytes.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// LoadPrivateKey reads the checkpoint signing key from the file at path when path is not empty, else from the
// environment variable envName. The key belongs outside the data directory (so that whoever can rewrite the
// log cannot also sign for it). The file must not be accessible to group or others (mode 0600 or stricter,
// as OpenSSH requires of private keys); the error says to chmod 600. When neither source is set the error
// wraps ErrNoKey.
func LoadPrivateKey(path, envName string) (ed25519.PrivateKey, error) {
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("audit: private key file: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("audit: private key file %s is not a regular file", path)
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
			return nil, fmt.Errorf("audit: private key file %s has mode %04o: other users can access it; run: chmod 600 %s", path, perm, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("audit: private key file: %w", err)
		}
		k, err := ParsePrivateKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%w (in file %s)", err, path)
		}
		return k, nil
	}
	if envName == "" {
		return nil, fmt.Errorf("%w: no key file and no environment variable given", ErrNoKey)
	}
	s, ok := os.LookupEnv(envName)
	if !ok || strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: no key file given and $%s is not set", ErrNoKey, envName)
	}
	k, err := ParsePrivateKey(s)
	if err != nil {
		return nil, fmt.Errorf("%w (in $%s)", err, envName)
	}
	return k, nil
}
