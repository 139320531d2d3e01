package audit

import (
	"bufio"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
)

// KindUnsigned: entries at the head of the log that no signed checkpoint covers, more than the server leaves.
const KindUnsigned = "unsigned"

// RequireCheckpoints adds a problem to r (a Report of a log verified with pub and cps) when the log's head is
// not covered by a checkpoint signed by pub: when the log has entries but no such checkpoint, or more than
// every entries after the last one. A server with its audit key signs a checkpoint at least every so many
// entries (and every minute, and when it stops), so a log that fails this had its checkpoints deleted, or
// was truncated and rewritten with them. Every checkpoint covers the whole log before it (the chain), so only
// the last one matters. It does nothing when pub is nil or every < 1.
func (r *Report) RequireCheckpoints(cps []Checkpoint, pub ed25519.PublicKey, every int64) {
	if pub == nil || every < 1 || r.Entries == 0 {
		return
	}
	var last int64 = -1
	for i := range cps {
		if cps[i].Verify(pub) == nil {
			last = max(last, cps[i].Seq)
		}
	}
	var p Problem
	switch {
	case last < 0:
		p = Problem{1, KindUnsigned, fmt.Sprintf("the log has %s but no checkpoint signed by the audit key %s: a server with that key signs one at least every %s, so its checkpoints were deleted (or it never had the key); truncation and rewriting of this log cannot be ruled out",
			plural(r.Entries, "entry"), KeyID(pub), plural(every, "entry"))}
	case r.Entries-last > every:
		p = Problem{last + 1, KindUnsigned, fmt.Sprintf("entries %d-%d: no signed checkpoint covers them, but the server signs one at least every %s: checkpoints after entry %d were deleted, so these entries may have been rewritten",
			last+1, r.Entries, plural(every, "entry"), last)}
	default:
		return
	}
	r.Problems = append(r.Problems, p)
	r.OK = false
}

// ReadCheckpoints reads checkpoints written one JSON object a line (the server's --audit-checkpoints file).
// Blank lines are skipped; a line that is not a checkpoint is an error naming it (a torn last line, from a
// crash while it was written, is skipped).
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var bad error
	for n := 1; sc.Scan(); n++ {
		if bad != nil {
			return nil, bad
		}
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var c Checkpoint
		if err := json.Unmarshal(line, &c); err != nil {
			bad = fmt.Errorf("audit: checkpoints line %d: %w", n, err)
			continue
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("audit: reading checkpoints: %w", err)
	}
	return out, nil
}
