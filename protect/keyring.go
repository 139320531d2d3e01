package protect

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// The sealed envelope (version 1):
//
//	offset  size  field
//	0       4     magic "FG\xff\x7f"
//	4       1     version, 1
//	5       1     n, the key id's length (1..MaxKeyIDLen)
//	6       n     key id (ASCII, see ValidKeyID)
//	6+n     12    nonce, from crypto/rand
//	18+n    ...   AES-256-GCM ciphertext of the plaintext, then the 16-byte tag
//
// The GCM additional data is the header (bytes 0..6+n) followed by the caller's aad, so neither the key id nor
// the version can be altered without the tag failing. Read as a little-endian float32 the magic is a NaN
// (exponent bits all ones), which no template component is: a float32 template blob never looks sealed.
const (
	version     = 1
	headerFixed = 6 // magic, version, id length
	nonceSize   = 12
	tagSize     = 16
	// KeySize is the length of an AES-256 key in bytes.
	KeySize = 32
	// MaxKeyIDLen is the longest key id accepted.
	MaxKeyIDLen = 64
	// Overhead is what Seal adds to the plaintext, not counting the key id itself.
	Overhead = headerFixed + nonceSize + tagSize
)

var magic = [4]byte{'F', 'G', 0xff, 0x7f}

// Errors returned by Open (test them with errors.Is; an unknown key is an *UnknownKeyError).
var (
	// ErrNotSealed: the blob does not start with the magic prefix, so it is not Seal output (perhaps a legacy
	// plaintext row: see IsSealed).
	ErrNotSealed = errors.New("protect: not a sealed blob (no magic prefix)")
	// ErrMalformed: the blob has the magic prefix but a truncated or invalid header, or an unsupported version.
	ErrMalformed = errors.New("protect: malformed sealed blob")
	// ErrAuthFailed: GCM authentication failed: the data was tampered with, the aad differs from the one it was
	// sealed with (the blob was moved to another row), or the key under that id is not the one that sealed it.
	ErrAuthFailed = errors.New("protect: authentication failed (tampered data, wrong aad — blob moved to another row? — or a different key under the same id)")
)

// UnknownKeyError is returned by Open when the blob names a key id the keyring does not hold.
type UnknownKeyError struct {
	ID    string   // the id the blob names
	Known []string // the ids the keyring holds
}

func (e *UnknownKeyError) Error() string {
	held := "no keys"
	if len(e.Known) > 0 {
		held = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("protect: sealed with key id %q, which is not in the keyring (it holds %s): add that key back to open it",
		e.ID, held)
}

// Keyring holds AES-256 keys by id; the first is the active (sealing) key, all of them open. It is immutable
// and safe for concurrent use. Its String and GoString methods print the ids only, never key material.
type Keyring struct {
	ids   []string
	aeads map[string]cipher.AEAD
}

// ValidKeyID reports whether id can name a key: 1 to MaxKeyIDLen characters from A-Z, a-z, 0-9, '.', '_', '-'.
func ValidKeyID(id string) bool {
	if len(id) == 0 || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func badIDMsg(id string) string {
	return fmt.Sprintf("key id %s is invalid: want 1 to %d characters from A-Z a-z 0-9 . _ -", showID(id), MaxKeyIDLen)
}

// showID quotes a key id for an error message unless it is long enough to be key material pasted in the wrong
// place (a 32-byte key is 43 or 44 characters of base64).
func showID(id string) string {
	if len(id) > 24 {
		return fmt.Sprintf("(%d characters, not shown)", len(id))
	}
	return fmt.Sprintf("%q", id)
}

func checkKeyID(id string) error {
	if !ValidKeyID(id) {
		return errors.New("protect: " + badIDMsg(id))
	}
	return nil
}

// ParseKeyring reads keys in the text form "id:base64key" (32-byte keys, standard or URL-safe base64, padded or
// not), one per line or comma-separated; the first is active. Blank entries, surrounding spaces and lines
// starting with '#' are ignored. Errors name the entry (by number and id) but never echo key material: bad
// base64, wrong length, invalid or duplicate id, missing ':', or no key at all.
func ParseKeyring(s string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	n := 0
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			n++
			id, b64, ok := strings.Cut(entry, ":")
			id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
			if !ok {
				return nil, fmt.Errorf("protect: keyring entry %d: want id:base64key (no ':' found)", n)
			}
			if !ValidKeyID(id) {
				return nil, fmt.Errorf("protect: keyring entry %d: %s", n, badIDMsg(id))
			}
			if _, dup := k.aeads[id]; dup {
				return nil, fmt.Errorf("protect: keyring entry %d: duplicate key id %s", n, showID(id))
			}
			key, err := decodeBase64(b64)
			if err != nil {
				return nil, fmt.Errorf("protect: keyring entry %d (id %s): key is not valid base64", n, showID(id))
			}
			if len(key) != KeySize {
				return nil, fmt.Errorf("protect: keyring entry %d (id %s): key is %d bytes, want %d (AES-256)",
					n, showID(id), len(key), KeySize)
			}
			aead, err := newAEAD(key)
			if err != nil {
				return nil, fmt.Errorf("protect: keyring entry %d (id %s): %v", n, showID(id), err)
			}
			k.ids = append(k.ids, id)
			k.aeads[id] = aead
		}
	}
	if len(k.ids) == 0 {
		return nil, errors.New("protect: keyring is empty: want at least one id:base64key entry")
	}
	return k, nil
}

func decodeBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block) // 12-byte nonce, 16-byte tag
}

// LoadKeyring reads the keyring from the file at path or, when path is "", from the environment variable env
// (see ParseKeyring for the text form). On Unix the file must not be readable or writable by group or others:
// the error then says to chmod 600 it. When path is "" and env is "" or unset or empty it returns (nil, nil):
// encryption is off.
func LoadKeyring(path, env string) (*Keyring, error) {
	if path != "" {
		data, err := readSecretFile(path)
		if err != nil {
			return nil, err
		}
		k, err := ParseKeyring(string(data))
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, nil
	}
	if env == "" {
		return nil, nil
	}
	v := os.Getenv(env)
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	k, err := ParseKeyring(v)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", env, err)
	}
	return k, nil
}

// readSecretFile reads a regular file that only its owner may access (permission bits checked on the open file,
// so a swap between the check and the read cannot slip in another file).
func readSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("protect: %s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("protect: %s has mode %04o, so group or others can access it: run 'chmod 600 %s'",
			path, st.Mode().Perm(), path)
	}
	const maxSecretFile = 1 << 20
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("protect: reading %s: %w", path, err)
	}
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("protect: %s is larger than %d bytes: not a key file", path, maxSecretFile)
	}
	return data, nil
}

// GenerateKey returns a new keyring line "id:base64key" holding 32 bytes from crypto/rand (standard base64,
// padded). id must satisfy ValidKeyID.
func GenerateKey(id string) (string, error) {
	if err := checkKeyID(id); err != nil {
		return "", err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("protect: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// ActiveID is the id of the key Seal uses (the first in the keyring).
func (k *Keyring) ActiveID() string {
	if k == nil || len(k.ids) == 0 {
		return ""
	}
	return k.ids[0]
}

// IDs returns the key ids in keyring order, the active one first.
func (k *Keyring) IDs() []string {
	if k == nil {
		return nil
	}
	return append([]string(nil), k.ids...)
}

// Has reports whether the keyring holds a key with this id.
func (k *Keyring) Has(id string) bool {
	if k == nil {
		return false
	}
	_, ok := k.aeads[id]
	return ok
}

// String lists the key ids, never the keys.
func (k *Keyring) String() string {
	if k == nil {
		return "protect.Keyring(nil)"
	}
	return "protect.Keyring{active " + k.ActiveID() + ", ids " + strings.Join(k.ids, ",") + "}"
}

// GoString is String, so that %#v does not print key material either.
func (k *Keyring) GoString() string { return k.String() }

// Seal encrypts plaintext with the active key. The output is the envelope described in docs/protection.md:
// magic and version, the key id (length-prefixed), a 12-byte random nonce, then the GCM ciphertext and tag;
// it is Overhead+len(ActiveID()) bytes longer than plaintext. aad (which may be nil) binds the ciphertext to
// its context: pass the row's id, and Open with any other aad fails.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	if k == nil || len(k.ids) == 0 {
		return nil, errors.New("protect: Seal on a nil or empty keyring")
	}
	id := k.ids[0]
	aead := k.aeads[id]
	hl := headerFixed + len(id)
	out := make([]byte, hl+nonceSize, hl+nonceSize+len(plaintext)+tagSize)
	copy(out, magic[:])
	out[4] = version
	out[5] = byte(len(id))
	copy(out[headerFixed:], id)
	nonce := out[hl : hl+nonceSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("protect: %w", err)
	}
	return aead.Seal(out, nonce, plaintext, additional(out[:hl], aad)), nil
}

func additional(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	return append(append(ad, header...), aad...)
}

// parse splits a sealed blob into its header, key id, nonce and ciphertext.
func parse(b []byte) (header []byte, id string, nonce, ct []byte, err error) {
	if !IsSealed(b) {
		return nil, "", nil, nil, ErrNotSealed
	}
	if len(b) < headerFixed {
		return nil, "", nil, nil, fmt.Errorf("%w: %d bytes, too short for a header", ErrMalformed, len(b))
	}
	if b[4] != version {
		return nil, "", nil, nil, fmt.Errorf("%w: unsupported version %d (this build reads version %d)", ErrMalformed, b[4], version)
	}
	n := int(b[5])
	hl := headerFixed + n
	if len(b) < hl {
		return nil, "", nil, nil, fmt.Errorf("%w: truncated key id", ErrMalformed)
	}
	id = string(b[headerFixed:hl])
	if !ValidKeyID(id) {
		return nil, "", nil, nil, fmt.Errorf("%w: invalid key id %q", ErrMalformed, id)
	}
	if len(b) < hl+nonceSize+tagSize {
		return nil, "", nil, nil, fmt.Errorf("%w: %d bytes, too short for nonce and tag", ErrMalformed, len(b))
	}
	return b[:hl], id, b[hl : hl+nonceSize], b[hl+nonceSize:], nil
}

// Open decrypts a blob made by Seal with whichever key it names, checking it against aad. Errors:
// ErrNotSealed (no magic prefix), ErrMalformed (bad header, truncated), *UnknownKeyError (the named key is not
// in the keyring; the error names it) and ErrAuthFailed (tampered, wrong aad, or wrong key under that id).
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	header, id, nonce, ct, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, &UnknownKeyError{ID: id}
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, &UnknownKeyError{ID: id, Known: k.IDs()}
	}
	pt, err := aead.Open(nil, nonce, ct, additional(header, aad))
	if err != nil {
		return nil, ErrAuthFailed
	}
	return pt, nil
}

// Reseal brings one stored value under the active key, for key rotation and for migrating a plaintext store:
// a blob sealed under another key is opened and sealed again (changed true); a value that is not sealed at all
// (IsSealed false: a legacy plaintext row) is sealed (changed true); a blob already under the active key is
// returned as is (changed false), without being opened. aad must be the row's, as for Seal and Open.
func (k *Keyring) Reseal(stored, aad []byte) (out []byte, changed bool, err error) {
	if !IsSealed(stored) {
		out, err = k.Seal(stored, aad)
		return out, err == nil, err
	}
	id, err := SealedKeyID(stored)
	if err != nil {
		return nil, false, err
	}
	if id == k.ActiveID() {
		return stored, false, nil
	}
	pt, err := k.Open(stored, aad)
	if err != nil {
		return nil, false, err
	}
	out, err = k.Seal(pt, aad)
	return out, err == nil, err
}

// IsSealed reports whether b starts with the envelope's magic prefix, i.e. looks like Seal output, so that a
// store can tell legacy plaintext rows apart during migration or rotation. A little-endian float32 template
// never does: the prefix read as a float32 is a NaN.
func IsSealed(b []byte) bool {
	return len(b) >= len(magic) && [4]byte(b[:4]) == magic
}

// SealedKeyID returns the key id a sealed blob names, without decrypting it (for rotation: re-seal only the
// rows not under the active key). The errors are those of Open's header checks.
func SealedKeyID(b []byte) (string, error) {
	_, id, _, _, err := parse(b)
	return id, err
}
