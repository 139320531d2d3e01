package events

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestSignVector(t *testing.T) {
	// printf '%s' '1700000000.{"id":"x"}' | openssl dgst -sha256 -hmac whsec_test
	const want = "v1=80e8d098018f757aa814ab1abb924f35d304affa1d93d29611a54696207eb7c3"
	if got := Sign("whsec_test", 1700000000, []byte(`{"id":"x"}`)); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"id":"0001700000000000-00000001","type":"match"}`)
	headers := func(secret string, ts int64, b []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(HeaderSignature, Sign(secret, ts, b))
		return h
	}
	ok := headers(testSecret, now.Unix(), body)
	rotated := headers(testSecret, now.Unix(), body)
	rotated.Set(HeaderSignature, Sign("old secret", now.Unix(), body)+", "+rotated.Get(HeaderSignature))
	twoValues := headers("old secret", now.Unix(), body)
	twoValues.Add(HeaderSignature, Sign(testSecret, now.Unix(), body))
	noSig := headers(testSecret, now.Unix(), body)
	noSig.Del(HeaderSignature)
	noTS := headers(testSecret, now.Unix(), body)
	noTS.Del(HeaderTimestamp)
	badTS := headers(testSecret, now.Unix(), body)
	badTS.Set(HeaderTimestamp, "yesterday")
	// A signature for another timestamp, presented with the current one.
	movedTS := headers(testSecret, now.Unix()-1, body)
	movedTS.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	noPrefix := headers(testSecret, now.Unix(), body)
	noPrefix.Set(HeaderSignature, noPrefix.Get(HeaderSignature)[3:])
	notHex := headers(testSecret, now.Unix(), body)
	notHex.Set(HeaderSignature, "v1=zz")

	tests := []struct {
		name   string
		secret string
		h      http.Header
		body   []byte
		tol    time.Duration
		want   error // nil: valid
	}{
		{"valid", testSecret, ok, body, time.Minute, nil},
		{"valid, default tolerance", testSecret, headers(testSecret, now.Unix()-299, body), body, 0, nil},
		{"secret rotation, one header", testSecret, rotated, body, time.Minute, nil},
		{"secret rotation, two headers", testSecret, twoValues, body, time.Minute, nil},
		{"tampered body", testSecret, ok, []byte(`{"id":"0001700000000000-00000001","type":"crowd"}`), time.Minute, ErrBadSignature},
		{"body with a trailing newline", testSecret, ok, append(body, '\n'), time.Minute, ErrBadSignature},
		{"wrong secret", "other", ok, body, time.Minute, ErrBadSignature},
		{"stale timestamp", testSecret, headers(testSecret, now.Unix()-600, body), body, 5 * time.Minute, ErrStaleTimestamp},
		{"stale, default tolerance", testSecret, headers(testSecret, now.Unix()-301, body), body, 0, ErrStaleTimestamp},
		{"future timestamp", testSecret, headers(testSecret, now.Unix()+600, body), body, 5 * time.Minute, ErrStaleTimestamp},
		{"timestamp changed", testSecret, movedTS, body, time.Minute, ErrBadSignature},
		{"no signature", testSecret, noSig, body, time.Minute, ErrNoSignature},
		{"no timestamp", testSecret, noTS, body, time.Minute, ErrBadTimestamp},
		{"malformed timestamp", testSecret, badTS, body, time.Minute, ErrBadTimestamp},
		{"no v1= prefix", testSecret, noPrefix, body, time.Minute, ErrBadSignature},
		{"not hex", testSecret, notHex, body, time.Minute, ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.h, tt.body, tt.tol, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
	if err := Verify("", ok, body, time.Minute, now); err == nil {
		t.Fatal("Verify accepted an empty secret")
	}
}
