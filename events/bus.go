package events

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facegate/facegate"
)

// DefaultBusSize is the ring size of a bus made with NewBus(0).
const DefaultBusSize = 1024

// SubscriberBuffer is how many live events a subscription holds before it starts losing them.
const SubscriberBuffer = 256

// seqLimit bounds the sequence part of an ID ("%08d").
const seqLimit = 100_000_000

// lastEpoch is the largest start (Unix ms) any bus of this process has used, so that two buses never share
// one and a bus made later in the process always issues larger IDs.
var lastEpoch atomic.Int64

// claimEpoch returns a start of at least min that is larger than any claimed before in this process.
func claimEpoch(min int64) int64 {
	for {
		last := lastEpoch.Load()
		ms := max(min, last+1)
		if lastEpoch.CompareAndSwap(last, ms) {
			return ms
		}
	}
}

// Bus fans events out to subscribers and keeps the newest events in a ring for replay. The zero value is not
// usable; make one with NewBus. All methods are safe for concurrent use.
type Bus struct {
	mu     sync.Mutex
	epoch  int64 // start part of IDs, Unix ms
	seq    int64 // sequence part of the last ID
	ring   []facegate.Event
	head   int // index of the oldest event in ring
	n      int // events in ring
	subs   map[*Subscription]struct{}
	closed bool
	now    func() time.Time
}

// NewBus returns a bus that keeps the last size events for replay (size <= 0: DefaultBusSize). Its IDs start
// with the current time in Unix milliseconds, or one more than the previous bus of the process used, so two
// buses never issue the same ID and a later one issues larger IDs.
func NewBus(size int) *Bus {
	return newBus(size, claimEpoch(time.Now().UnixMilli()), time.Now)
}

func newBus(size int, epoch int64, now func() time.Time) *Bus {
	if size <= 0 {
		size = DefaultBusSize
	}
	return &Bus{
		epoch: epoch,
		ring:  make([]facegate.Event, size),
		subs:  make(map[*Subscription]struct{}),
		now:   now,
	}
}

// nextID returns the next event ID; b.mu is held.
func (b *Bus) nextID() string {
	b.seq++
	if b.seq >= seqLimit {
		b.epoch = claimEpoch(max(b.epoch+1, b.now().UnixMilli()))
		b.seq = 1
	}
	return fmt.Sprintf("%013d-%08d", b.epoch, b.seq)
}

// Publish assigns e its ID (and its Time, when zero), keeps it in the ring and hands it to every matching
// subscriber without blocking: a subscriber whose buffer is full loses the event, which its Dropped counts.
// It returns the event as published. The event is shared with subscribers, not copied deeply: do not change
// what its pointer and slice fields point to after publishing it.
func (b *Bus) Publish(e facegate.Event) facegate.Event {
	e, _ = b.PublishIf(e, nil)
	return e
}

// PublishIf is Publish for an event that may be delivered only once admit accepts it: admit sees the event
// with its ID and Time, under the bus's lock (so events stay in ID order), and an error from it drops the event:
// it is neither kept for replay nor handed to anybody, and PublishIf returns the error. The server admits a
// stream's match only once its audit entry is written. A nil admit accepts every event.
func (b *Bus) PublishIf(e facegate.Event, admit func(facegate.Event) error) (facegate.Event, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	e.ID = b.nextID()
	if e.Time.IsZero() {
		e.Time = b.now()
	}
	if admit != nil {
		if err := admit(e); err != nil {
			return e, err
		}
	}
	if b.n < len(b.ring) {
		b.ring[(b.head+b.n)%len(b.ring)] = e
		b.n++
	} else {
		b.ring[b.head] = e
		b.head = (b.head + 1) % len(b.ring)
	}
	for s := range b.subs {
		if !s.filter.Match(&e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.dropped.Add(1)
		}
	}
	return e, nil
}

// at returns the i-th oldest event of the ring; b.mu is held.
func (b *Bus) at(i int) *facegate.Event {
	return &b.ring[(b.head+i)%len(b.ring)]
}

// Subscription receives a bus's events on C until it is closed. C is closed by Close (or Bus.Close).
type Subscription struct {
	// C delivers the replayed events, then the live ones, in publication order.
	C <-chan facegate.Event

	c       chan facegate.Event
	bus     *Bus
	filter  Filter
	dropped atomic.Uint64
}

// Subscribe returns a subscription that first receives the ring's events matching f with an ID greater than
// after (after == "": none), then the live events matching f. An after older than everything in the ring
// replays the whole ring. Close the subscription when done.
func (b *Bus) Subscribe(f Filter, after string) *Subscription {
	f = f.clone()
	b.mu.Lock()
	defer b.mu.Unlock()
	var replay []facegate.Event
	if after != "" {
		for i := range b.n {
			if e := b.at(i); e.ID > after && f.Match(e) {
				replay = append(replay, *e)
			}
		}
	}
	c := make(chan facegate.Event, SubscriberBuffer+len(replay))
	for _, e := range replay {
		c <- e
	}
	s := &Subscription{C: c, c: c, bus: b, filter: f}
	if b.closed {
		close(c)
		return s
	}
	b.subs[s] = struct{}{}
	return s
}

// Close ends the subscription: no more events are sent, and C is closed (events still buffered in it can
// be read first). Closing twice is harmless.
func (s *Subscription) Close() {
	b := s.bus
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.c)
	}
}

// Dropped is how many matching events the subscription lost because its buffer was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Recent returns up to n of the newest events in the ring that match f, oldest first; n <= 0 returns all
// of them.
func (b *Bus) Recent(f Filter, n int) []facegate.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []facegate.Event
	for i := b.n - 1; i >= 0 && (n <= 0 || len(out) < n); i-- {
		if e := b.at(i); f.Match(e) {
			out = append(out, *e)
		}
	}
	slices.Reverse(out)
	return out
}

// Close ends every subscription (so ServeSSE handlers return; e.g. register it with
// http.Server.RegisterOnShutdown) and makes later subscriptions start closed. Publish and Recent keep
// working.
func (b *Bus) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		delete(b.subs, s)
		close(s.c)
	}
}

// subscribers is the number of open subscriptions (for tests).
func (b *Bus) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Remove deletes from the ring every event for which match is true (a subject's erasure: no event naming them
// may be replayed) and returns how many it removed. Subscribers that already received them are not reached.
func (b *Bus) Remove(match func(*facegate.Event) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.keepLocked(func(e *facegate.Event) bool { return !match(e) })
}

// Prune deletes the events published before t from the ring (the events' retention) and returns how many.
func (b *Bus) Prune(t time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.keepLocked(func(e *facegate.Event) bool { return !e.Time.Before(t) })
}

// keepLocked compacts the ring to the events keep accepts, in order; b.mu is held.
func (b *Bus) keepLocked(keep func(*facegate.Event) bool) int {
	kept := make([]facegate.Event, 0, b.n)
	for i := 0; i < b.n; i++ {
		if e := b.at(i); keep(e) {
			kept = append(kept, *e)
		}
	}
	removed := b.n - len(kept)
	if removed == 0 {
		return 0
	}
	clear(b.ring)
	copy(b.ring, kept)
	b.head, b.n = 0, len(kept)
	return removed
}
