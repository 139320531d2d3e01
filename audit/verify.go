package audit

import (
	"container/heap"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Problem kinds, as found in Problem.Kind.
const (
	KindEdited     = "edited"     // an entry's hash does not recompute, or it was changed and re-hashed
	KindRemoved    = "removed"    // entries are missing from the middle (or start) of the log
	KindReordered  = "reordered"  // entries are present but out of order
	KindInserted   = "inserted"   // an entry that does not belong in the chain
	KindCheckpoint = "checkpoint" // a signed checkpoint does not match the log: rewritten consistently after it
	KindSignature  = "signature"  // a checkpoint's signature does not verify
	KindTruncated  = "truncated"  // the log ends before the last checkpoint's entry
)

// MaxProblems is the most problems a Report lists; Report.Omitted counts the rest.
const MaxProblems = 100

// maxCollected bounds the problems held while verifying (before merging and capping), so that a wholly corrupt
// log of millions of entries is verified in bounded memory and time.
const maxCollected = 10 * 1000

// reorderWindow is how many entries Verify holds to put entries stored out of seq order back in order. An entry
// displaced by more is still reported (as reordered), but the links to and from it are not checked.
var reorderWindow = 8192

// renumberSearch is how far from its stored seq Verify looks for the seq an entry's hash was made with.
const renumberSearch = 64

// Report is the result of Verify.
type Report struct {
	Entries           int64     `json:"entries"`            // entries read
	Checkpoints       int       `json:"checkpoints"`        // checkpoints given
	Head              string    `json:"head"`               // hash of the last entry ("" for an empty log)
	OK                bool      `json:"ok"`                 // no problems
	Problems          []Problem `json:"problems"`           // at most MaxProblems, by seq
	Omitted           int       `json:"omitted,omitempty"`  // problems found but not listed
	SignaturesChecked bool      `json:"signatures_checked"` // a public key was given
}

// Problem is one thing wrong with a log.
type Problem struct {
	Seq     int64  `json:"seq"`     // where: the (first) entry concerned
	Kind    string `json:"kind"`    // one of the Kind constants
	Message string `json:"message"` // a sentence for people
}

// Verify walks a log and checks it; see the package documentation for what it checks and how it names what it
// finds. next returns the entries in storage order, then (nil, nil); an error from next is returned (wrapped)
// as Verify's error, with no report. checkpoints may come in any order. With pub nil, signatures are not
// checked (Report.SignaturesChecked is false) but the checkpoints' hashes still are. Verify holds a bounded
// number of entries (reorderWindow), so it can walk a log of any length.
func Verify(next func() (*Entry, error), checkpoints []Checkpoint, pub ed25519.PublicKey) (*Report, error) {
	if next == nil {
		return nil, errors.New("audit: Verify needs a next function")
	}
	v := &verifier{recent: map[string]int64{}, cps: map[int64][]*Checkpoint{}}
	v.prepareCheckpoints(checkpoints, pub)
	for {
		e, err := next()
		if err != nil {
			return nil, fmt.Errorf("audit: reading the entry after %d entries: %w", v.entries, err)
		}
		if e == nil {
			break
		}
		v.take(e)
	}
	v.finish()
	r := &Report{Entries: v.entries, Checkpoints: len(checkpoints), SignaturesChecked: pub != nil}
	if v.lastSeq > 0 && len(v.cur) > 0 {
		r.Head = v.cur[0].e.Hash
	}
	ps := v.problems()
	r.Problems = make([]Problem, 0, min(len(ps), MaxProblems))
	for _, p := range ps[:min(len(ps), MaxProblems)] {
		r.Problems = append(r.Problems, p.Problem)
	}
	r.Omitted = len(ps) - len(r.Problems) + v.dropped
	r.OK = len(r.Problems) == 0 && r.Omitted == 0
	return r, nil
}

// String is a summary for people: "OK: 1,204 entries, 12 checkpoints, head 3fa2…" or the problems, one a line.
func (r *Report) String() string {
	var b strings.Builder
	head := "none (empty log)"
	if r.Head != "" {
		head = short(r.Head)
	}
	cps := plural(int64(r.Checkpoints), "checkpoint")
	if r.Checkpoints > 0 && !r.SignaturesChecked {
		cps += " (signatures not checked: no public key)"
	}
	if r.OK {
		fmt.Fprintf(&b, "OK: %s, %s, head %s", plural(r.Entries, "entry"), cps, head)
		return b.String()
	}
	n := len(r.Problems) + r.Omitted
	fmt.Fprintf(&b, "FAILED: %s in %s, %s, head %s", plural(int64(n), "problem"), plural(r.Entries, "entry"), cps, head)
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "\n  [%s] %s", p.Kind, p.Message)
	}
	if r.Omitted > 0 {
		fmt.Fprintf(&b, "\n  ... and %s", plural(int64(r.Omitted), "more problem"))
	}
	return b.String()
}

// item is an entry as Verify sees it.
type item struct {
	e       Entry
	pos     int64 // position in storage order, from 1
	seq     int64 // the seq it belongs at: the one its hash was made with, or its best guess when edited
	intact  bool  // its hash recomputes (with seq)
	moved   bool  // intact, but stored under a seq other than the one its hash was made with
	flagged bool  // out of place in storage order
}

// prob is a Problem with what merging needs.
type prob struct {
	Problem
	end              int64 // last seq concerned (a range of removed entries)
	posStart, posEnd int64 // storage positions concerned (reordered)
}

type gapRange struct{ from, to int64 }

// renum is a run of intact entries, next to each other in storage and in seq, stored under seqs other than
// the ones their hashes were made with.
type renum struct {
	first, last      int64   // true seqs
	d                int64   // stored - true, of the first
	uniform          bool    // every entry's stored seq is shifted by d
	stored           []int64 // the first few stored seqs
	posStart, posEnd int64
	allFlagged       bool
}

type verifier struct {
	cps        map[int64][]*Checkpoint // checkpoints to compare, by seq (signature valid or not checked)
	maxCp      *Checkpoint
	lastGoodCp int64

	probs   []*prob
	gaps    []*gapRange
	runs    []*renum
	dropped int
	entries int64

	// storage-order stage: p and m are the two entries before the one being read.
	pos         int64
	p, m        *item
	recent      map[string]int64 // hash -> seq of recent intact entries
	ring        []string         // the hashes in recent, oldest at ringAt once full
	ringAt      int
	group       []*item // out-of-place entries next to each other
	groupBefore *item
	run         *renum

	// seq-order stage
	h         itemHeap
	lastSeq   int64
	cur       []*item // the entries at lastSeq (more than one: a fork)
	prev      []*item // the entries at lastSeq-1; nil when a gap precedes lastSeq
	gapBefore bool
	brkA      int64 // open run of broken links at seqs brkA..brkB (brkA 0: none)
	brkB      int64
}

func (v *verifier) room() bool { return len(v.probs)+len(v.gaps)+len(v.runs) < maxCollected }

func (v *verifier) add(p *prob) {
	if !v.room() {
		v.dropped++
		return
	}
	v.probs = append(v.probs, p)
}

func (v *verifier) prepareCheckpoints(cps []Checkpoint, pub ed25519.PublicKey) {
	for i := range cps {
		c := &cps[i]
		if pub != nil {
			if why := c.check(pub); why != "" {
				v.add(&prob{Problem: Problem{c.Seq, KindSignature, fmt.Sprintf("checkpoint at entry %d (signed %s) cannot be trusted: %s", c.Seq, when(c.Time), why)}})
				continue
			}
		}
		switch {
		case c.Seq < 0 || c.Seq == 0 && c.Hash != Genesis:
			v.add(&prob{Problem: Problem{c.Seq, KindCheckpoint, fmt.Sprintf("checkpoint (signed %s) names entry %d with hash %s, which no log can have", when(c.Time), c.Seq, short(c.Hash))}})
			continue
		case c.Seq == 0:
			continue // the checkpoint of an empty log holds for every log
		}
		v.cps[c.Seq] = append(v.cps[c.Seq], c)
		if v.maxCp == nil || c.Seq > v.maxCp.Seq {
			v.maxCp = c
		}
	}
}

// ---- storage-order stage ----

func (v *verifier) take(e *Entry) {
	v.entries++
	v.pos++
	x := &item{e: *e, pos: v.pos}
	if v.m != nil && !v.m.intact {
		v.guess(v.p, v.m, &x.e.Seq)
	}
	v.content(x, v.m)
	if v.m != nil {
		v.placement(v.p, v.m, x)
		v.emit(v.m)
	}
	v.p, v.m = v.m, x
}

func (v *verifier) finishStream() {
	if v.m != nil {
		if !v.m.intact {
			v.guess(v.p, v.m, nil)
		}
		v.placement(v.p, v.m, nil)
		v.emit(v.m)
	}
	v.flushGroup(nil)
	v.flushRun()
}

// content checks x's hash, and when it does not recompute looks for the seq it does recompute with: the one
// after its predecessor's, the one after the entry its Prev names, and those near its stored seq. Found, x is
// intact but renumbered (moved); not found, x was edited.
func (v *verifier) content(x, pred *item) {
	x.seq = x.e.Seq
	want := x.e.Hash
	if x.e.ComputeHash() == want {
		x.intact = true
		v.remember(x)
		return
	}
	if !v.room() {
		return // a log this broken gets no more per-entry diagnosis
	}
	try := func(t int64) bool {
		if t < 1 || t == x.e.Seq {
			return false
		}
		c := x.e
		c.Seq = t
		if c.ComputeHash() != want {
			return false
		}
		x.seq, x.intact, x.moved = t, true, true
		v.remember(x)
		return true
	}
	after := int64(1)
	if pred != nil {
		after = pred.seq + 1
	}
	if try(after) {
		return
	}
	if s, ok := v.recent[x.e.Prev]; ok && try(s+1) {
		return
	}
	for d := int64(1); d <= renumberSearch; d++ {
		if try(x.e.Seq-d) || try(x.e.Seq+d) {
			return
		}
	}
}

// remember notes an intact entry's hash for content, forgetting the oldest beyond reorderWindow.
func (v *verifier) remember(x *item) {
	if len(v.ring) <= reorderWindow {
		v.ring = append(v.ring, x.e.Hash)
	} else {
		delete(v.recent, v.ring[v.ringAt])
		v.ring[v.ringAt] = x.e.Hash
		v.ringAt = (v.ringAt + 1) % len(v.ring)
	}
	v.recent[x.e.Hash] = x.seq
}

// guess places an edited entry m, whose stored seq cannot be trusted: when its neighbours say it sits at
// p.seq+1 (the next entry is stored as p.seq+2) it belongs there, whatever its seq field says.
func (v *verifier) guess(p, m *item, nextStored *int64) {
	want := int64(1)
	if p != nil {
		want = p.seq + 1
	}
	if m.e.Seq != want && nextStored != nil && *nextStored == want+1 {
		m.seq = want
	}
}

// placement decides whether m (with storage neighbours p and x) is out of place: it is out of order with a
// neighbour and is not the successor of the one before or the predecessor of the one after.
func (v *verifier) placement(p, m, x *item) {
	if !m.intact || m.seq < 1 {
		return // reported as edited (its seq is a guess) or inserted
	}
	inPlace := p != nil && p.seq == m.seq-1 || x != nil && x.seq == m.seq+1
	outOfOrder := p != nil && p.intact && p.seq > m.seq || x != nil && x.intact && x.seq < m.seq
	m.flagged = outOfOrder && !inPlace
	if p != nil && p.intact && p.seq > m.seq && !p.flagged && !m.flagged {
		// Both sit in runs of their own (blocks swapped): say where order breaks.
		v.add(&prob{Problem: Problem{m.seq, KindReordered, fmt.Sprintf("entry %s: stored after entry %d, so the entries are out of order from here (a block of entries was moved)", name(m), p.seq)},
			posStart: m.pos, posEnd: m.pos})
	}
}

func (v *verifier) emit(m *item) {
	if !m.intact {
		at := ""
		if m.e.Seq != m.seq {
			at = fmt.Sprintf(" (stored as seq %d)", m.e.Seq)
		}
		v.add(&prob{Problem: Problem{m.seq, KindEdited, fmt.Sprintf("entry %d%s: its hash does not match its content (edited after it was written)", m.seq, at)}, end: m.seq})
	}
	if m.flagged {
		if len(v.group) == 0 {
			v.groupBefore = v.p
		}
		v.group = append(v.group, m)
	} else {
		v.flushGroup(m)
	}
	if m.moved {
		d := m.e.Seq - m.seq
		if r := v.run; r != nil && r.last+1 == m.seq && r.posEnd+1 == m.pos {
			r.last, r.posEnd = m.seq, m.pos
			r.allFlagged = r.allFlagged && m.flagged
			r.uniform = r.uniform && d == r.d
			if len(r.stored) < 6 {
				r.stored = append(r.stored, m.e.Seq)
			}
		} else {
			v.flushRun()
			v.run = &renum{first: m.seq, last: m.seq, d: d, uniform: true, stored: []int64{m.e.Seq}, posStart: m.pos, posEnd: m.pos, allFlagged: m.flagged}
		}
	} else {
		v.flushRun()
	}
	heap.Push(&v.h, m)
	if v.h.Len() > reorderWindow {
		v.process(heap.Pop(&v.h).(*item))
	}
}

func (v *verifier) flushGroup(after *item) {
	g := v.group
	if len(g) == 0 {
		return
	}
	v.group = nil
	where := "between entries " + seqOf(v.groupBefore) + " and " + seqOf(after)
	switch {
	case v.groupBefore == nil && after == nil:
		where = "(they are the whole log)"
	case v.groupBefore == nil:
		where = "at the start of the log, before entry " + seqOf(after)
	case after == nil:
		where = "at the end of the log, after entry " + seqOf(v.groupBefore)
	}
	low := g[0].seq
	var names []string
	for i, it := range g {
		if i < 10 {
			names = append(names, name(it))
		}
		low = min(low, it.seq)
	}
	if len(g) > 10 {
		names = append(names, fmt.Sprintf("... (%d entries)", len(g)))
	}
	var msg string
	if len(g) == 1 {
		msg = fmt.Sprintf("entry %s: out of place: it is stored %s", names[0], where)
	} else {
		msg = fmt.Sprintf("entries %s: out of order: stored in that order %s", strings.Join(names, ", "), where)
	}
	v.add(&prob{Problem: Problem{low, KindReordered, msg}, posStart: g[0].pos, posEnd: g[len(g)-1].pos})
}

func (v *verifier) flushRun() {
	if v.run == nil {
		return
	}
	if v.room() {
		v.runs = append(v.runs, v.run)
	} else {
		v.dropped++
	}
	v.run = nil
}

// ---- seq-order stage ----

func (v *verifier) process(it *item) {
	s := it.seq
	switch {
	case s < 1:
		if it.intact {
			v.add(&prob{Problem: Problem{s, KindInserted, fmt.Sprintf("entry %d: no entry can have this seq (seqs start at 1), yet its hash recomputes: it was forged", s)}, end: s})
		}
	case v.lastSeq > 0 && s == v.lastSeq:
		v.cur = append(v.cur, it)
	case s < v.lastSeq:
		v.late(it)
	case s == v.lastSeq+1:
		v.settle(it)
		v.prev, v.cur, v.lastSeq, v.gapBefore = v.cur, []*item{it}, s, false
	default:
		v.settle(nil)
		v.addGap(v.lastSeq+1, s-1)
		v.prev, v.cur, v.lastSeq, v.gapBefore = nil, []*item{it}, s, true
	}
}

// settle finishes the entries at lastSeq once the next seq (next, nil after a gap or at the end) is known:
// their link back, forks, checkpoints.
func (v *verifier) settle(next *item) {
	if v.lastSeq == 0 || len(v.cur) == 0 {
		return
	}
	s := v.lastSeq
	if v.gapBefore {
		v.closeBreak()
	} else {
		linked, suspect := false, false
		for _, c := range v.cur {
			suspect = suspect || !c.intact
			if s == 1 {
				linked = linked || c.e.Prev == Genesis
			}
			for _, q := range v.prev {
				linked = linked || q.e.Hash == c.e.Prev
			}
		}
		for _, q := range v.prev {
			suspect = suspect || !q.intact
		}
		if linked || suspect { // an edited entry's Prev or Hash cannot be trusted; it is reported already
			v.closeBreak()
		} else if v.brkA != 0 && v.brkB == s-1 {
			v.brkB = s
		} else {
			v.closeBreak()
			v.brkA, v.brkB = s, s
		}
	}
	if len(v.cur) > 1 {
		v.fork(s, next)
	}
	v.checkCheckpoints(s, v.cur)
}

// closeBreak reports the open run of broken links at a..b (between entries whose hashes all recompute): the
// entries a-1..b-1 were changed and re-hashed (entry a-1's successor still links to its old hash, and so on),
// or, what the chain cannot tell apart, a..b-1 were forged in their place. A broken link at 1 is entry 1's
// own: its prev is not Genesis.
func (v *verifier) closeBreak() {
	a, b := v.brkA, v.brkB
	if a == 0 {
		return
	}
	v.brkA, v.brkB = 0, 0
	lo, hi := max(a-1, 1), max(b-1, 1)
	var msg string
	switch {
	case lo == hi && a == 1:
		msg = "entry 1: changed and re-hashed after it was written: its hash recomputes, but its prev is not empty although it is the first entry"
		if b == 2 {
			msg += ", and entry 2 links to a different hash"
		}
	case lo == hi:
		msg = fmt.Sprintf("entry %d: changed and re-hashed after it was written: its hash recomputes, but entry %d links to a different hash (or entry %d's prev was changed and re-hashed)", lo, b, b)
	default:
		forged := fmt.Sprintf("entries %d-%d were forged in place of the originals", a, hi)
		if a == hi {
			forged = fmt.Sprintf("entry %d was forged in place of the original", a)
		}
		msg = fmt.Sprintf("entries %d-%d: changed and re-hashed after they were written: each hash recomputes, but entries %d-%d link to different hashes (or %s)", lo, hi, a, b, forged)
	}
	v.add(&prob{Problem: Problem{lo, KindEdited, msg}, end: hi})
}

func (v *verifier) fork(s int64, next *item) {
	n := len(v.cur)
	same, linked := true, 0
	for _, c := range v.cur {
		same = same && c.e.Hash == v.cur[0].e.Hash
		if next != nil && c.e.Hash == next.e.Prev {
			linked++
		}
	}
	var msg string
	switch {
	case same:
		msg = fmt.Sprintf("entry %d: stored %d times (copies were inserted)", s, n)
	case linked == 1 && n == 2:
		msg = fmt.Sprintf("entry %d: another entry claims its seq, and entry %d links to the original: the other one was inserted", s, s+1)
	case linked == 1:
		msg = fmt.Sprintf("entry %d: %d other entries claim its seq, and entry %d links to the original: the others were inserted", s, n-1, s+1)
	case next == nil:
		msg = fmt.Sprintf("entry %d: %d entries claim this seq and no entry after links to any of them: all but one were inserted", s, n)
	default:
		msg = fmt.Sprintf("entry %d: %d entries claim this seq and entry %d links to none of them: all but one were inserted", s, n, s+1)
	}
	v.add(&prob{Problem: Problem{s, KindInserted, msg}, end: s})
}

func (v *verifier) checkCheckpoints(s int64, cands []*item) {
	for _, c := range v.cps[s] {
		ok, suspect := false, false
		for _, it := range cands {
			ok = ok || it.e.Hash == c.Hash
			suspect = suspect || !it.intact
		}
		switch {
		case ok:
			v.lastGoodCp = max(v.lastGoodCp, s)
		case suspect: // the entry is reported as edited
		default:
			from := int64(1)
			if v.lastGoodCp < s {
				from = v.lastGoodCp + 1
			}
			v.add(&prob{Problem: Problem{s, KindCheckpoint, fmt.Sprintf(
				"entry %d: its hash is %s but the checkpoint signed %s says %s: the log was rewritten after that checkpoint was signed, consistently (every hash recomputed and re-linked, so only the checkpoint shows it); the rewrite begins in entries %d-%d",
				s, short(cands[0].e.Hash), when(c.Time), short(c.Hash), from, s)}, end: s})
		}
	}
}

func (v *verifier) addGap(from, to int64) {
	if !v.room() {
		v.dropped++
		return
	}
	v.gaps = append(v.gaps, &gapRange{from, to})
}

// late takes an entry that belongs before entries already processed: displaced by more than reorderWindow. If
// it fills a reported gap the gap shrinks (its displacement is reported by the storage-order stage); otherwise
// it is an extra entry for a seq already seen.
func (v *verifier) late(it *item) {
	s := it.seq
	i := sort.Search(len(v.gaps), func(i int) bool { return v.gaps[i].to >= s })
	if i < len(v.gaps) && v.gaps[i].from <= s {
		g := v.gaps[i]
		switch {
		case g.from == g.to:
			v.gaps = slices.Delete(v.gaps, i, i+1)
		case s == g.from:
			g.from++
		case s == g.to:
			g.to--
		default:
			v.gaps = slices.Insert(v.gaps, i+1, &gapRange{s + 1, g.to})
			g.to = s - 1
		}
		v.checkCheckpoints(s, []*item{it})
		return
	}
	if it.intact {
		v.add(&prob{Problem: Problem{s, KindInserted, fmt.Sprintf("entry %d: another entry claiming this seq is stored far from its place: it was inserted", s)}, end: s})
	}
}

func (v *verifier) finish() {
	v.finishStream()
	for v.h.Len() > 0 {
		v.process(heap.Pop(&v.h).(*item))
	}
	v.settle(nil)
	v.closeBreak()
	if c := v.maxCp; c != nil && c.Seq > v.lastSeq {
		msg := fmt.Sprintf("entries %d-%d: missing from the end: the log ends at entry %d but the checkpoint signed %s covers entries up to %d",
			v.lastSeq+1, c.Seq, v.lastSeq, when(c.Time), c.Seq)
		if v.lastSeq == 0 {
			msg = fmt.Sprintf("entries 1-%d: missing: the log is empty but the checkpoint signed %s covers entries up to %d", c.Seq, when(c.Time), c.Seq)
		} else if c.Seq == v.lastSeq+1 {
			msg = fmt.Sprintf("entry %d: missing from the end: the log ends at entry %d but the checkpoint signed %s covers entry %d", c.Seq, v.lastSeq, when(c.Time), c.Seq)
		}
		msg += v.signedOverCut(c)
		v.add(&prob{Problem: Problem{v.lastSeq + 1, KindTruncated, msg}, end: c.Seq})
	}
}

// signedOverCut says, for a truncation shown by checkpoint c, which checkpoint was signed later than c over a
// shorter log (a server restarted on the cut log, by a version that did not check it): that checkpoint does
// not make the cut log good. "" when there is none.
func (v *verifier) signedOverCut(c *Checkpoint) string {
	var later *Checkpoint
	for seq, cs := range v.cps {
		if seq >= c.Seq {
			continue
		}
		for _, x := range cs {
			if x.Time.After(c.Time) && (later == nil || x.Time.After(later.Time)) {
				later = x
			}
		}
	}
	if later == nil {
		return ""
	}
	return fmt.Sprintf("; the checkpoint at entry %d was signed later (%s), over the cut log (a server restarted on it), and does not make it whole",
		later.Seq, when(later.Time))
}

// problems merges what was found into the list reported, by seq.
func (v *verifier) problems() []*prob {
	ps := v.probs
	for _, g := range v.gaps {
		var msg string
		switch {
		case g.from == g.to && g.from == 1:
			msg = "entry 1: missing: the log starts at entry 2"
		case g.from == g.to:
			msg = fmt.Sprintf("entry %d: missing: entry %d is followed by entry %d (removed)", g.from, g.from-1, g.to+1)
		case g.from == 1:
			msg = fmt.Sprintf("entries 1-%d: missing: the log starts at entry %d (%s removed)", g.to, g.to+1, plural(g.to, "entry"))
		default:
			msg = fmt.Sprintf("entries %d-%d: missing: entry %d is followed by entry %d (%s removed)", g.from, g.to, g.from-1, g.to+1, plural(g.to-g.from+1, "entry"))
		}
		ps = append(ps, &prob{Problem: Problem{g.from, KindRemoved, msg}, end: g.to})
	}
	// Renumbered runs: explained by a removal just before them, an insertion where they start or a move next to
	// them; otherwise their seqs were edited.
	for _, r := range v.runs {
		if r.allFlagged {
			continue // named (with their stored seqs) by the reordered problem
		}
		what := fmt.Sprintf("entry %d was renumbered (stored as seq %d)", r.first, r.first+r.d)
		if r.last > r.first {
			what = fmt.Sprintf("entries %d-%d were renumbered (stored as seq %d-%d)", r.first, r.last, r.first+r.d, r.last+r.d)
		}
		explained := false
		for _, p := range ps {
			if !r.uniform {
				break
			}
			if r.d < 0 && p.Kind == KindRemoved && p.end == r.first-1 ||
				r.d > 0 && p.Kind == KindInserted && p.Seq == r.first ||
				p.Kind == KindReordered && p.posStart > 0 && (p.posEnd+1 == r.posStart || r.posEnd+1 == p.posStart) {
				p.Message += "; " + what
				explained = true
				break
			}
		}
		if explained {
			continue
		}
		var msg string
		switch {
		case r.last == r.first:
			msg = fmt.Sprintf("entry %d: stored as seq %d, but its hash only recomputes as seq %d (its seq was changed)", r.first, r.first+r.d, r.first)
		case r.uniform:
			msg = fmt.Sprintf("entries %d-%d: stored as seq %d-%d, but their hashes only recompute as seq %d-%d (renumbered)", r.first, r.last, r.first+r.d, r.last+r.d, r.first, r.last)
		default:
			list := make([]string, len(r.stored))
			for i, s := range r.stored {
				list[i] = strconv.FormatInt(s, 10)
			}
			if n := r.last - r.first + 1; n > int64(len(list)) {
				list = append(list, "...")
			}
			msg = fmt.Sprintf("entries %d-%d: stored under other seqs (%s), but their hashes only recompute as seq %d-%d (their seqs were changed)", r.first, r.last, strings.Join(list, ", "), r.first, r.last)
		}
		ps = append(ps, &prob{Problem: Problem{r.first, KindEdited, msg}, end: r.last})
	}
	// A checkpoint mismatch at an entry already reported as replaced is the same finding.
	edited := map[int64]*prob{}
	for _, p := range ps {
		if p.Kind == KindEdited && edited[p.Seq] == nil {
			edited[p.Seq] = p
		}
	}
	ps = slices.DeleteFunc(ps, func(c *prob) bool {
		if p := edited[c.Seq]; c.Kind == KindCheckpoint && p != nil {
			p.Message += "; a signed checkpoint confirms it changed after it was signed"
			return true
		}
		return false
	})
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Seq < ps[j].Seq })
	return ps
}

// ---- helpers ----

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if h[i].seq != h[j].seq {
		return h[i].seq < h[j].seq
	}
	return h[i].pos < h[j].pos
}
func (h itemHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *itemHeap) Push(x any)   { *h = append(*h, x.(*item)) }
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}

func name(it *item) string {
	if it.moved {
		return fmt.Sprintf("%d (stored as seq %d)", it.seq, it.e.Seq)
	}
	return strconv.FormatInt(it.seq, 10)
}

func seqOf(it *item) string {
	if it == nil {
		return "?"
	}
	return strconv.FormatInt(it.seq, 10)
}

func when(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// short abbreviates a hash for messages; anything that is not hex is quoted.
func short(h string) string {
	hex := h != ""
	for i := 0; i < len(h) && hex; i++ {
		c := h[i]
		hex = '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	}
	if !hex {
		r := []rune(h)
		if len(r) > 16 {
			return strconv.Quote(string(r[:16])) + "…"
		}
		return strconv.Quote(h)
	}
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// plural formats n with thousands separators and the noun: "1 entry", "1,204 entries".
func plural(n int64, noun string) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	if n != 1 {
		switch {
		case strings.HasSuffix(noun, "y"):
			noun = noun[:len(noun)-1] + "ies"
		default:
			noun += "s"
		}
	}
	return s + " " + noun
}
