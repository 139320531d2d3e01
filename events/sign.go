package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook request headers.
const (
	HeaderEventID   = "X-Facegate-Event-Id"
	HeaderEventType = "X-Facegate-Event-Type"
	HeaderTimestamp = "X-Facegate-Timestamp"
	HeaderSignature = "X-Facegate-Signature"
)

// DefaultTolerance is the timestamp tolerance Verify uses when given zero or less.
const DefaultTolerance = 5 * time.Minute

// Errors wrapped by Verify.
var (
	ErrNoSignature    = errors.New("missing signature")
	ErrBadSignature   = errors.New("signature mismatch")
	ErrBadTimestamp   = errors.New("missing or malformed timestamp")
	ErrStaleTimestamp = errors.New("timestamp outside the tolerance")
)

// Sign returns the X-Facegate-Signature value for a request body sent at timestamp (Unix seconds):
// "v1=" followed by the hex HMAC-SHA256, keyed with secret, of the decimal timestamp, a ".", and the body.
func Sign(secret string, timestamp int64, body []byte) string {
	return "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret string, timestamp int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(strconv.AppendInt(nil, timestamp, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a webhook request: its X-Facegate-Timestamp must be within tolerance of now (either way; a
// tolerance <= 0 means DefaultTolerance), which rejects replayed requests, and one of the comma-separated
// values of its X-Facegate-Signature must be the v1 signature of the timestamp and body under secret. body
// must be the raw request body, exactly as received. It returns nil when the request is authentic.
func Verify(secret string, h http.Header, body []byte, tolerance time.Duration, now time.Time) error {
	if secret == "" {
		return errors.New("events: verify: empty secret")
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(h.Get(HeaderTimestamp)), 10, 64)
	if err != nil {
		return fmt.Errorf("events: verify: %w", ErrBadTimestamp)
	}
	if age := now.Sub(time.Unix(ts, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("events: verify: %w: %v from now", ErrStaleTimestamp, -age.Round(time.Second))
	}
	sigs := h.Values(HeaderSignature)
	if len(sigs) == 0 {
		return fmt.Errorf("events: verify: %w", ErrNoSignature)
	}
	want := mac(secret, ts, body)
	for _, v := range sigs {
		for s := range strings.SplitSeq(v, ",") {
			hexSig, ok := strings.CutPrefix(strings.TrimSpace(s), "v1=")
			if !ok {
				continue
			}
			if got, err := hex.DecodeString(hexSig); err == nil && hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("events: verify: %w", ErrBadSignature)
}
