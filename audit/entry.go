package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Genesis is the Prev of entry 1: the chain starts from the empty string.
const Genesis = ""

// Domain tags: the first field of each canonical encoding, so that an entry's encoding can never be read as a
// checkpoint's (or as a later version's) and vice versa.
const (
	entryTag      = "fgaudit/entry/v1"
	checkpointTag = "fgaudit/checkpoint/v1"
)

// Entry is one audit record. Fields are set by the caller except Seq, Prev and Hash, which Chain sets.
// It holds no biometric data: no templates, no images, no names, only opaque ids.
type Entry struct {
	Seq     int64             `json:"seq"`               // 1, 2, 3... with no gaps
	Time    time.Time         `json:"time"`              // UTC, stored and hashed at nanosecond precision
	Actor   string            `json:"actor"`             // API key id, "system" (sweeper), "cli"
	Action  string            `json:"action"`            // e.g. "subject.create", "face.enrol", "search", "key.create"
	Target  string            `json:"target,omitempty"`  // what it acted on, opaque ids: "gallery/gal_x/subject/sub_y"
	Outcome string            `json:"outcome"`           // "ok", "denied", "rejected", "error", "match", "no_match"...
	Details map[string]string `json:"details,omitempty"` // small non-biometric facts (counts, reasons, request id)
	Prev    string            `json:"prev"`              // hex hash of the previous entry (Genesis, "", for seq 1)
	Hash    string            `json:"hash"`              // hex SHA-256 of the canonical encoding of the fields above
}

// ComputeHash returns the lowercase hex SHA-256 of the entry's canonical encoding (every field but Hash; see
// the package documentation). It does not modify e.
func (e *Entry) ComputeHash() string {
	sum := sha256.Sum256(e.canonical())
	return hex.EncodeToString(sum[:])
}

// canonical is the byte string ComputeHash hashes: netstrings ("<decimal length>:<bytes>,") of, in order, the
// domain tag, seq, time, actor, action, target, outcome, the number of details, each detail key and value by
// ascending byte order of key, and prev.
func (e *Entry) canonical() []byte {
	n := 64 + len(e.Actor) + len(e.Action) + len(e.Target) + len(e.Outcome) + len(e.Prev)
	for k, v := range e.Details {
		n += 24 + len(k) + len(v)
	}
	b := make([]byte, 0, n)
	b = netstring(b, entryTag)
	var num [40]byte
	b = netstringBytes(b, strconv.AppendInt(num[:0], e.Seq, 10))
	b = netstringBytes(b, appendTime(num[:0], e.Time))
	b = netstring(b, e.Actor)
	b = netstring(b, e.Action)
	b = netstring(b, e.Target)
	b = netstring(b, e.Outcome)
	b = netstringBytes(b, strconv.AppendInt(num[:0], int64(len(e.Details)), 10))
	var small [8]string
	keys := small[:0]
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Go compares strings bytewise
	for _, k := range keys {
		b = netstring(b, k)
		b = netstring(b, e.Details[k])
	}
	b = netstring(b, e.Prev)
	return b
}

// netstring appends s as "<decimal byte length>:<bytes>,".
func netstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

func netstringBytes(b, s []byte) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// canonicalTime is "<unix seconds>.<nanoseconds, 9 digits>": seconds from t.Unix() (floored, so negative before
// 1970) and t.Nanosecond() (0 to 999999999). It names the instant only, whatever t's location, and is
// defined for every time.Time, also outside the years 1678 to 2262 that int64 nanoseconds can hold.
func canonicalTime(t time.Time) string { return string(appendTime(nil, t)) }

func appendTime(b []byte, t time.Time) []byte {
	b = strconv.AppendInt(b, t.Unix(), 10)
	b = append(b, '.')
	ns := t.Nanosecond()
	for div := 100000000; div > 0; div /= 10 {
		b = append(b, byte('0'+ns/div%10))
	}
	return b
}

// Chain links e after prev (nil for the first entry): it sets e.Seq to prev.Seq+1 (1 for the first), e.Prev to
// prev.Hash (Genesis for the first), e.Time to UTC without a monotonic clock reading, replaces invalid UTF-8 in
// the strings with U+FFFD (so a round trip through JSON, which does the same, keeps the hash), and sets e.Hash.
// A zero e.Time is left zero: the caller sets the time (store it at nanosecond precision).
func Chain(prev *Entry, e *Entry) {
	if prev == nil {
		e.Seq = 1
		e.Prev = Genesis
	} else {
		e.Seq = prev.Seq + 1
		e.Prev = prev.Hash
	}
	e.Time = e.Time.UTC()
	e.Actor = validUTF8(e.Actor)
	e.Action = validUTF8(e.Action)
	e.Target = validUTF8(e.Target)
	e.Outcome = validUTF8(e.Outcome)
	for k, v := range e.Details {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			d := make(map[string]string, len(e.Details))
			for k, v := range e.Details {
				d[validUTF8(k)] = validUTF8(v)
			}
			e.Details = d
			break
		}
	}
	e.Hash = e.ComputeHash()
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
