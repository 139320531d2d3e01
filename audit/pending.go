package audit

import (
	"context"
	"sync"
)

// Pending is the audit entry of a request that has not been written yet. It travels in the request's context
// (WithPending) down to the store, which writes it in the same transaction as the first change the request
// makes (Begin, then Done with the outcome of the commit), so that a change and its entry are durable together
// or not at all. The request's handler writes it afterwards only when nothing did (Written is nil).
type Pending struct {
	mu         sync.Mutex
	build      func(details map[string]string) *Entry
	withChange bool
	details    map[string]string
	written    *Entry
}

// NewPending returns a pending entry that build makes from the details noted so far. withChange says whether
// a store may write it with the request's first change (false for requests that make many changes, whose
// entry says what all of them did and is written after them).
func NewPending(build func(details map[string]string) *Entry, withChange bool) *Pending {
	return &Pending{build: build, withChange: withChange, details: map[string]string{}}
}

type pendingKey struct{}

// WithPending returns ctx carrying p.
func WithPending(ctx context.Context, p *Pending) context.Context {
	return context.WithValue(ctx, pendingKey{}, p)
}

// PendingFrom returns the pending entry ctx carries, or nil.
func PendingFrom(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// Note adds a detail to the pending entry in ctx, if any; an existing detail of the same name is kept, so the
// first thing a request creates is the one named. A detail noted after the entry was written is not in it.
func Note(ctx context.Context, k, v string) {
	if p := PendingFrom(ctx); p != nil {
		p.note(k, v, false)
	}
}

// Set adds or replaces a detail of p.
func (p *Pending) Set(k, v string) { p.note(k, v, true) }

func (p *Pending) note(k, v string, replace bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.details[k]; replace || !ok {
		p.details[k] = v
	}
}

// Begin returns the entry to write with the change being committed, or nil when it was written already. A
// non-nil return holds p until Done, which the caller must call once the transaction is committed or rolled
// back; so two transactions of one request never both write it.
func (p *Pending) Begin() *Entry {
	if !p.withChange {
		return nil
	}
	return p.begin()
}

// Take is Begin for the request's own handler once it has finished: the entry to write now (even when no
// store may write it with a change), or nil when it was written already.
func (p *Pending) Take() *Entry { return p.begin() }

func (p *Pending) begin() *Entry {
	p.mu.Lock()
	if p.written != nil {
		p.mu.Unlock()
		return nil
	}
	return p.build(p.copyDetails())
}

// Done releases p after Begin: committed says whether e is now stored.
func (p *Pending) Done(e *Entry, committed bool) {
	if committed {
		p.written = e
	}
	p.mu.Unlock()
}

// Written returns the entry as it was stored (with its Seq), or nil when it has not been written.
func (p *Pending) Written() *Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// copyDetails returns a copy of the details noted so far (p.mu held).
func (p *Pending) copyDetails() map[string]string {
	out := make(map[string]string, len(p.details))
	for k, v := range p.details {
		out[k] = v
	}
	return out
}

// Detail returns a detail noted so far ("" when none).
func (p *Pending) Detail(k string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.details[k]
}
