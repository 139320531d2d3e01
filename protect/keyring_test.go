package protect

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fixedKey returns a deterministic "id:base64key" line (for tests only).
func fixedKey(id string, fill byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, KeySize))
}

func mustRing(t testing.TB, s string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(s)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

// templateBytes encodes a random unit template as stored: little-endian float32.
func templateBytes(r *mrand.Rand, dim int) []byte {
	v := randUnit(r, dim)
	b := make([]byte, 4*dim)
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustRing(t, fixedKey("k1", 1))
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, pt := range [][]byte{nil, {}, []byte("x"), templateBytes(r, 512), bytes.Repeat([]byte{0xab}, 100000)} {
		for _, aad := range [][]byte{nil, []byte("face:42")} {
			sealed, err := k.Seal(pt, aad)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(pt) + Overhead + len("k1"); len(sealed) != want {
				t.Errorf("sealed %d bytes into %d, want %d", len(pt), len(sealed), want)
			}
			if len(pt) > 16 && bytes.Contains(sealed, pt[:16]) {
				t.Error("sealed blob contains the plaintext")
			}
			got, err := k.Open(sealed, aad)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if !bytes.Equal(got, pt) {
				t.Errorf("round trip of %d bytes gave %d different bytes", len(pt), len(got))
			}
		}
	}
}

func TestEnvelopeLayout(t *testing.T) {
	k := mustRing(t, fixedKey("rot-2026.a_b", 7))
	sealed, err := k.Seal([]byte("hello"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "rot-2026.a_b"
	if !bytes.Equal(sealed[:4], []byte("FG\xff\x7f")) || sealed[4] != 1 || int(sealed[5]) != len(id) || string(sealed[6:6+len(id)]) != id {
		t.Errorf("header % x, want magic 46 47 ff 7f, version 1, id length %d, id %q", sealed[:6+len(id)], len(id), id)
	}
	if len(sealed) != 6+len(id)+12+len("hello")+16 {
		t.Errorf("length %d", len(sealed))
	}
	if f := math.Float32frombits(binary.LittleEndian.Uint32(magic[:])); !math.IsNaN(float64(f)) {
		t.Errorf("magic read as a float32 is %v, want NaN", f)
	}
}

func TestOpenWrongAAD(t *testing.T) {
	k := mustRing(t, fixedKey("k1", 1))
	sealed, err := k.Seal([]byte("template"), []byte("face:1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{nil, []byte("face:2"), []byte("face:1 "), []byte("face:")} {
		if _, err := k.Open(sealed, aad); !errors.Is(err, ErrAuthFailed) {
			t.Errorf("Open with aad %q: %v, want ErrAuthFailed", aad, err)
		}
	}
	// A different key under the same id fails authentication too.
	other := mustRing(t, fixedKey("k1", 2))
	if _, err := other.Open(sealed, []byte("face:1")); !errors.Is(err, ErrAuthFailed) {
		t.Errorf("Open under another key with the same id: %v, want ErrAuthFailed", err)
	}
}

// Every single-bit flip and every truncation of a sealed template fails to open.
func TestTamperingFails(t *testing.T) {
	k := mustRing(t, fixedKey("k1", 1)+","+fixedKey("k2", 2))
	r := mrand.New(mrand.NewPCG(3, 4))
	pt := templateBytes(r, 512)
	aad := []byte("face:7")
	sealed, err := k.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(sealed))
	for i := range sealed {
		for bit := 0; bit < 8; bit++ {
			copy(buf, sealed)
			buf[i] ^= 1 << bit
			if got, err := k.Open(buf, aad); err == nil {
				t.Fatalf("bit %d of byte %d flipped: opened (%d bytes)", bit, i, len(got))
			}
		}
	}
	for n := 0; n < len(sealed); n++ {
		if _, err := k.Open(sealed[:n], aad); err == nil {
			t.Fatalf("truncated to %d bytes: opened", n)
		}
	}
	if _, err := k.Open(append(sealed[:len(sealed):len(sealed)], 0), aad); err == nil {
		t.Fatal("one byte appended: opened")
	}
}

func TestOpenErrors(t *testing.T) {
	k := mustRing(t, fixedKey("k1", 1))
	sealed, _ := k.Seal([]byte("x"), nil)
	cases := []struct {
		name string
		blob []byte
		want error
	}{
		{"empty", nil, ErrNotSealed},
		{"plaintext template", templateBytes(mrand.New(mrand.NewPCG(5, 6)), 512), ErrNotSealed},
		{"magic only", []byte("FG\xff\x7f"), ErrMalformed},
		{"version 2", append([]byte("FG\xff\x7f\x02"), sealed[5:]...), ErrMalformed},
		{"zero-length id", append([]byte("FG\xff\x7f\x01\x00"), make([]byte, 40)...), ErrMalformed},
		{"id longer than blob", []byte("FG\xff\x7f\x01\x09k1"), ErrMalformed},
		{"bad id characters", append([]byte("FG\xff\x7f\x01\x02k:"), make([]byte, 40)...), ErrMalformed},
		{"no room for nonce and tag", sealed[:6+2+12+15], ErrMalformed},
	}
	for _, c := range cases {
		if _, err := k.Open(c.blob, nil); !errors.Is(err, c.want) {
			t.Errorf("%s: Open: %v, want %v", c.name, err, c.want)
		}
		if c.want == ErrMalformed {
			if _, err := SealedKeyID(c.blob); !errors.Is(err, ErrMalformed) {
				t.Errorf("%s: SealedKeyID: %v, want ErrMalformed", c.name, err)
			}
		}
	}
}

func TestUnknownKeyID(t *testing.T) {
	old := mustRing(t, fixedKey("k-retired", 9))
	sealed, err := old.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	k := mustRing(t, fixedKey("k2", 2)+"\n"+fixedKey("k1", 1))
	_, err = k.Open(sealed, nil)
	var uk *UnknownKeyError
	if !errors.As(err, &uk) || uk.ID != "k-retired" {
		t.Fatalf("Open: %v, want *UnknownKeyError for k-retired", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `"k-retired"`) || !strings.Contains(msg, "k2, k1") {
		t.Errorf("error %q should name the missing id and the ring's ids", msg)
	}
}

// Rotation: the ring "k2,k1" opens k1 blobs and seals with k2; Reseal brings k1 blobs and plaintext rows under
// k2 and leaves k2 blobs alone; once every row is under k2, k1 can be dropped.
func TestRotation(t *testing.T) {
	k1 := fixedKey("k1", 1)
	k2 := fixedKey("k2", 2)
	before := mustRing(t, k1)
	during := mustRing(t, k2+","+k1)
	after := mustRing(t, k2)
	if during.ActiveID() != "k2" || !slicesEqual(during.IDs(), []string{"k2", "k1"}) || !during.Has("k1") || during.Has("k3") {
		t.Fatalf("ring %v: active %q ids %v", during, during.ActiveID(), during.IDs())
	}
	aad := []byte("face:3")
	old, err := before.Seal([]byte("old row"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := SealedKeyID(old); err != nil || id != "k1" {
		t.Fatalf("SealedKeyID(old) = %q, %v", id, err)
	}
	if pt, err := during.Open(old, aad); err != nil || string(pt) != "old row" {
		t.Fatalf("rotating ring opens k1 blob: %q, %v", pt, err)
	}
	fresh, err := during.Seal([]byte("new row"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := SealedKeyID(fresh); id != "k2" {
		t.Fatalf("rotating ring sealed with %q, want k2", id)
	}
	if _, err := before.Open(fresh, aad); err == nil {
		t.Fatal("old ring opened a k2 blob")
	}

	resealed, changed, err := during.Reseal(old, aad)
	if err != nil || !changed {
		t.Fatalf("Reseal(k1 blob): changed %v, %v", changed, err)
	}
	if id, _ := SealedKeyID(resealed); id != "k2" {
		t.Fatalf("resealed under %q", id)
	}
	same, changed, err := during.Reseal(fresh, aad)
	if err != nil || changed || !bytes.Equal(same, fresh) {
		t.Fatalf("Reseal(k2 blob): changed %v, %v", changed, err)
	}
	legacy := []byte("legacy plaintext row")
	sealedLegacy, changed, err := during.Reseal(legacy, aad)
	if err != nil || !changed || !IsSealed(sealedLegacy) {
		t.Fatalf("Reseal(plaintext): changed %v, %v", changed, err)
	}
	if _, _, err := during.Reseal(old, []byte("face:4")); !errors.Is(err, ErrAuthFailed) {
		t.Fatalf("Reseal with the wrong aad: %v, want ErrAuthFailed", err)
	}

	for _, b := range [][]byte{resealed, fresh, sealedLegacy} {
		if _, err := after.Open(b, aad); err != nil {
			t.Errorf("ring without k1 cannot open a rotated row: %v", err)
		}
	}
	var uk *UnknownKeyError
	if _, err := after.Open(old, aad); !errors.As(err, &uk) || uk.ID != "k1" {
		t.Errorf("ring without k1 opening a k1 blob: %v, want unknown key k1", err)
	}
}

func slicesEqual(a, b []string) bool {
	return strings.Join(a, "\x00") == strings.Join(b, "\x00")
}

func TestIsSealed(t *testing.T) {
	k := mustRing(t, fixedKey("k1", 1))
	r := mrand.New(mrand.NewPCG(7, 8))
	for i := 0; i < 1000; i++ {
		b := templateBytes(r, 512) // 2048 bytes
		if IsSealed(b) {
			t.Fatalf("template %d looks sealed", i)
		}
		if _, err := SealedKeyID(b); !errors.Is(err, ErrNotSealed) {
			t.Fatalf("SealedKeyID(template): %v, want ErrNotSealed", err)
		}
		if i == 0 {
			s, err := k.Seal(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !IsSealed(s) {
				t.Fatal("Seal output not IsSealed")
			}
		}
	}
	random := make([]byte, 2048)
	for i := 0; i < 1000; i++ {
		for j := 0; j < len(random); j += 8 {
			binary.LittleEndian.PutUint64(random[j:], r.Uint64())
		}
		if IsSealed(random) {
			t.Fatalf("random bytes %d look sealed", i)
		}
	}
	for _, b := range [][]byte{nil, {}, []byte("FG"), []byte("FG\xff")} {
		if IsSealed(b) {
			t.Errorf("IsSealed(%q) = true", b)
		}
	}
}

func TestSealedKeyID(t *testing.T) {
	for _, id := range []string{"a", "k1", "2026-06.primary", strings.Repeat("x", MaxKeyIDLen)} {
		k := mustRing(t, fixedKey(id, 3))
		s, err := k.Seal([]byte("p"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := SealedKeyID(s); err != nil || got != id {
			t.Errorf("SealedKeyID = %q, %v, want %q", got, err, id)
		}
	}
}

func TestNonceUniqueness(t *testing.T) {
	k := mustRing(t, fixedKey("k1", 1))
	seen := make(map[[nonceSize]byte]bool, 10000)
	off := headerFixed + len("k1")
	for i := 0; i < 10000; i++ {
		s, err := k.Seal([]byte("same plaintext"), []byte("same aad"))
		if err != nil {
			t.Fatal(err)
		}
		n := [nonceSize]byte(s[off : off+nonceSize])
		if seen[n] {
			t.Fatalf("nonce repeated after %d seals", i)
		}
		seen[n] = true
	}
}

func TestConcurrentUse(t *testing.T) {
	k := mustRing(t, fixedKey("k2", 2)+","+fixedKey("k1", 1))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				aad := []byte(fmt.Sprintf("face:%d:%d", g, i))
				pt := []byte(fmt.Sprintf("template %d %d", g, i))
				s, err := k.Seal(pt, aad)
				if err == nil {
					var got []byte
					got, err = k.Open(s, aad)
					if err == nil && !bytes.Equal(got, pt) {
						err = errors.New("wrong plaintext")
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestParseKeyring(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, KeySize))
	raw := bytes.Repeat([]byte{0xfb}, KeySize) // URL-safe alphabet differs: '-' and '_'
	urlRaw := base64.RawURLEncoding.EncodeToString(raw)
	good := []struct {
		in     string
		active string
		ids    []string
	}{
		{"k1:" + key, "k1", []string{"k1"}},
		{"k2:" + key + ",k1:" + key, "k2", []string{"k2", "k1"}},
		{"# facegate keys\n\n  k2 : " + key + "  \n k1:" + key + "\n", "k2", []string{"k2", "k1"}},
		{"a:" + key + ", b:" + key + ",\nc:" + urlRaw + ",", "a", []string{"a", "b", "c"}},
		{"k1:" + strings.TrimRight(key, "="), "k1", []string{"k1"}},
	}
	for _, g := range good {
		k, err := ParseKeyring(g.in)
		if err != nil {
			t.Errorf("ParseKeyring(%q): %v", g.in, err)
			continue
		}
		if k.ActiveID() != g.active || !slicesEqual(k.IDs(), g.ids) {
			t.Errorf("ParseKeyring(%q): active %q ids %v, want %q %v", g.in, k.ActiveID(), k.IDs(), g.active, g.ids)
		}
	}

	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{5}, 16))
	bad := []struct {
		in, want string
	}{
		{"", "empty"},
		{"  \n\t\n , ,", "empty"},
		{"# only a comment", "empty"},
		{"k1", "no ':'"},
		{key, "no ':'"},
		{"k1:", "0 bytes, want 32"},
		{"k1:not*base64!", "not valid base64"},
		{"k1:" + short, "16 bytes, want 32"},
		{"k1:" + key + key, "not valid base64"},
		{":" + key, `key id "" is invalid`},
		{"my key:" + key, `key id "my key" is invalid`},
		{strings.Repeat("x", MaxKeyIDLen+1) + ":" + key, "is invalid"},
		{"k1:" + key + ",k1:" + key, `entry 2: duplicate key id "k1"`},
		{"k1:" + key + "\nk2:" + short, `entry 2 (id "k2")`},
		{key + ":k1", "44 characters, not shown"}, // reversed
		{strings.TrimRight(strings.ReplaceAll(strings.ReplaceAll(key, "+", "a"), "/", "b"), "=") + ":k1", "not shown"}, // reversed, valid id
	}
	for _, b := range bad {
		k, err := ParseKeyring(b.in)
		if err == nil {
			t.Errorf("ParseKeyring(%q) = %v, want an error", b.in, k)
			continue
		}
		if !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseKeyring(%q): %q, want it to mention %q", b.in, err, b.want)
		}
		if strings.Contains(err.Error(), key[:20]) || strings.Contains(err.Error(), short[:12]) {
			t.Errorf("ParseKeyring error %q echoes key material", err)
		}
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	line, err := GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	k := mustRing(t, line)
	b64 := strings.SplitN(line, ":", 2)[1]
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, k); strings.Contains(s, b64[:16]) || !strings.Contains(s, "k1") {
			t.Errorf("Sprintf(%s, keyring) = %q", f, s)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateKey("k1")
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	k := mustRing(t, a)
	if k.ActiveID() != "k1" {
		t.Errorf("active %q", k.ActiveID())
	}
	for _, id := range []string{"", "a:b", "a b", "a,b", strings.Repeat("k", MaxKeyIDLen+1), "é"} {
		if _, err := GenerateKey(id); err == nil {
			t.Errorf("GenerateKey(%q) accepted", id)
		}
	}
}

// LoadKeyring cannot run in parallel with other tests: it sets environment variables.
func TestLoadKeyring(t *testing.T) {
	const env = "FACEGATE_TEST_PROTECT_KEYS"
	dir := t.TempDir()
	line := fixedKey("file-key", 1)
	path := filepath.Join(dir, "keys")
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(env, fixedKey("env-key", 2))

	k, err := LoadKeyring(path, env)
	if err != nil || k.ActiveID() != "file-key" {
		t.Fatalf("LoadKeyring(0600 file) = %v, %v; the file wins over the environment", k, err)
	}
	k, err = LoadKeyring("", env)
	if err != nil || k.ActiveID() != "env-key" {
		t.Fatalf("LoadKeyring(env) = %v, %v", k, err)
	}
	if runtime.GOOS != "windows" {
		for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadKeyring(path, env); err == nil || !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("mode %04o: %v, want a refusal saying chmod 600", mode, err)
			}
		}
		if err := os.Chmod(path, 0o400); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeyring(path, env); err != nil {
			t.Errorf("mode 0400: %v", err)
		}
	}
	if _, err := LoadKeyring(filepath.Join(dir, "missing"), env); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(dir, env); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	badPath := filepath.Join(dir, "bad")
	if err := os.WriteFile(badPath, []byte("k1:short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(badPath, env); err == nil || !strings.Contains(err.Error(), badPath) {
		t.Errorf("bad file: %v, want the path named", err)
	}
	t.Setenv(env, "oops")
	if _, err := LoadKeyring("", env); err == nil || !strings.Contains(err.Error(), "$"+env) {
		t.Errorf("bad env: %v, want the variable named", err)
	}

	t.Setenv(env, "")
	if k, err := LoadKeyring("", env); k != nil || err != nil {
		t.Errorf("neither set: %v, %v, want nil, nil", k, err)
	}
	os.Unsetenv(env)
	if k, err := LoadKeyring("", env); k != nil || err != nil {
		t.Errorf("env unset: %v, %v, want nil, nil", k, err)
	}
	if k, err := LoadKeyring("", ""); k != nil || err != nil {
		t.Errorf("no path, no env name: %v, %v, want nil, nil", k, err)
	}
}

func TestNilKeyring(t *testing.T) {
	var k *Keyring
	if k.ActiveID() != "" || k.IDs() != nil || k.Has("x") || k.String() == "" {
		t.Error("nil keyring accessors")
	}
	if _, err := k.Seal([]byte("x"), nil); err == nil {
		t.Error("nil keyring sealed")
	}
	s, _ := mustRing(t, fixedKey("k1", 1)).Seal([]byte("x"), nil)
	var uk *UnknownKeyError
	if _, err := k.Open(s, nil); !errors.As(err, &uk) {
		t.Errorf("nil keyring Open: %v", err)
	}
}
