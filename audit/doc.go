// Package audit is facegate's tamper-evident audit log: the records, their hash chain, signed checkpoints and
// the verifier behind "facegate audit verify". It is pure logic; storage and HTTP are elsewhere.
//
// # What is recorded
//
// One Entry for every enrolment, search, match, review decision, deletion, configuration and key change: who
// (Actor: an API key id, "system", "cli"), what (Action, Target), when (Time) and the Outcome, with a few
// non-biometric Details (counts, reasons, a request id). Never biometric data: no templates, no images, no
// names, only opaque ids. The log is append-only and never truncated: retention does not apply to it.
//
// # The chain
//
// Entries are numbered 1, 2, 3... without gaps (Seq). Each carries Prev, the Hash of entry Seq-1 (Genesis, the
// empty string, for entry 1), and Hash, the SHA-256 of its own canonical encoding, which covers Prev: each
// entry commits to the whole log before it. Chain sets Seq, Prev, Hash and makes Time UTC; appends must be
// serialised (read the head, Chain, insert, in one transaction).
//
// # Canonical encoding, version 1
//
// Hash is the lowercase hex SHA-256 of the concatenation of these netstrings, "<byte length in decimal>:<the
// bytes>," (so no field can run into the next):
//
//  1. the domain tag "fgaudit/entry/v1"
//  2. Seq in decimal ("42", "-1"; no leading zeros or plus sign)
//  3. Time as "<seconds>.<nanoseconds>": Unix seconds in decimal (floored, negative before 1970) and the
//     nanoseconds within that second as exactly 9 digits. It names the instant, whatever the time zone, and
//     round-trips through storage as int64 Unix nanoseconds, through JSON (RFC 3339 with nanoseconds) or in
//     any zone without changing the hash
//  4. Actor (strings are their UTF-8 bytes)
//  5. Action
//  6. Target ("" when none)
//  7. Outcome
//  8. the number of Details in decimal ("0" for none: nil and empty are the same), then each key and its value,
//     in ascending byte order of the keys
//  9. Prev
//
// For example the entry {Seq 42, Time 2025-03-01T12:00:00.000000005Z, Actor "key_3f2a", Action "face.enrol",
// Target "gallery/gal_x/subject/sub_y", Outcome "ok", Details {"request_id": "req_1", "faces": "1"}, Prev
// "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"} is encoded as
//
//	16:fgaudit/entry/v1,2:42,20:1740830400.000000005,8:key_3f2a,10:face.enrol,27:gallery/gal_x/subject/sub_y,2:ok,1:2,5:faces,1:1,10:request_id,5:req_1,64:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,
//
// and its Hash is 53dd64f3eee0b2a6629baf0981f3780ac28db0585fb67569f414f41e828da6a1 (printf '%s' '<that line>'
// | sha256sum). Chain replaces invalid UTF-8 with U+FFFD first, as encoding/json would, so that an entry
// keeps its hash through a JSON export.
//
// # Checkpoints
//
// A Checkpoint is the ed25519 signature of "the log up to Seq has head hash Hash", made periodically (say every
// N entries or every hour) with a key kept outside the data directory (a file of mode 0600, or an environment
// variable; see LoadPrivateKey). The signed message is the netstrings of "fgaudit/checkpoint/v1", Seq in
// decimal, Hash, Time (as for entries) and KeyID; Signature is its standard base64, and KeyID the first 16 hex
// characters of the SHA-256 of the 32-byte public key. Keys travel as text: "fgaudit-ed25519:" + base64 of
// the 32-byte seed (private), "fgaudit-ed25519-pub:" + base64 of the public key.
//
// # What verification proves, and what it cannot
//
// Anyone who can write the database can compute SHA-256, so the chain by itself proves only that the log is
// internally consistent. It catches tampering that is not followed through: an entry edited in place, removed,
// inserted, duplicated or moved. But a log rewritten consistently from some entry on, with every later hash
// recomputed and re-linked, passes every chain check. Only a checkpoint signed before the rewrite, for an entry
// at or after the first one rewritten, catches it: the hash it signed is no longer the hash of its entry
// ("checkpoint"). That is what checkpoints are for, and why the signing key must stay out of reach of whoever
// can write the log. Likewise, deleting the end of the log leaves a valid shorter log: only a checkpoint beyond
// the new end shows it ("truncated"). So:
//
//   - entries after the last checkpoint can be rewritten, removed or appended undetected: checkpoint often;
//   - checkpoints kept only next to the log can be deleted with it: keep copies elsewhere too (shipped to
//     another machine, or printed by the CLI for the operator), and verify against those;
//   - Verify checks the signatures only when given the public key; without one it still compares hashes,
//     which shows accidental damage but not a forger who also rewrote the checkpoints;
//   - the times are not checked for order (clocks step), nor whether an actor really did what is recorded.
//
// # How Verify names what it finds
//
// Verify reads the entries in storage order (by seq, or as they are stored in an export), holding a bounded
// window (8192 entries) to put them back in seq order, and reports every problem (the first MaxProblems, by
// seq, then a count) with the entry concerned and a sentence. Each entry's hash is recomputed with its stored
// seq and, when that fails, with nearby seqs, so that an entry stored under the wrong seq (renumbered or moved)
// is recognised as intact but misplaced rather than as edited. Then:
//
//   - edited: an entry whose hash matches no seq (changed in place; reported at that entry, and nothing
//     else: links from and to it are not held against it); entries re-hashed after a change, which the next
//     entry no longer links to (reported as the range of entries; the chain cannot tell this from entries
//     forged in place of the originals, and the message says so); intact entries stored under other seqs
//     with no other explanation (their seq fields were changed).
//   - removed: a gap in the seqs, e.g. entry 7 missing between 6 and 8; when the entries after the gap were
//     renumbered to close it, one problem says both.
//   - reordered: entries present but stored out of order, whether their seq fields were kept (stored as 6, 5)
//     or rewritten to the slots they now occupy (contents of 5 and 6 swapped): swapping entries 5 and 6 is
//     one problem at 5 naming both; moving entry 20 between 5 and 6 is one problem at 20; two blocks swapped
//     is one problem where the order breaks.
//   - inserted: an extra entry for a seq that already has one (a forged entry linked after entry 7, whether
//     the later entries were renumbered to make room or not: the one entry 9 does not link to is the
//     forgery), a duplicated entry, or an entry with a seq below 1.
//   - checkpoint: a checkpoint (whose signature verifies, when checked) whose entry now has another hash: the log was rewritten consistently
//     after it was signed; the problem says between which entries the rewrite begins.
//   - signature: a checkpoint whose signature does not verify with the public key (altered, forged, or signed
//     with another key); it is not used for anything else.
//   - truncated: the highest checkpoint (whose signature verifies, when checked) names an entry beyond the end
//     of the log. A lower checkpoint signed later (over the cut log, by a server restarted on it) does not make
//     the log whole: the problem names it.
//   - unsigned (Report.RequireCheckpoints, with the public key): no checkpoint signed by it covers the log to
//     within the server's checkpoint interval of its head, so its checkpoints were deleted. ReadCheckpoints
//     reads the copy a server appends outside the database, to verify against as well.
//
// # Writing entries with their changes
//
// Pending is a request's entry before it is written. It travels in the request's context (WithPending), and a
// store writes it in the transaction of the request's first change (Begin, Done), so that a change and the
// entry that records it are committed together or not at all; Note lets the store name what it created.
//
// An entry displaced by more than the window is reported as reordered, but its links are not checked.
package audit
