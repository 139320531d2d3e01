package events

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recv reads one event from c, failing after a generous deadline.
func recv(t *testing.T, c <-chan facegate.Event) facegate.Event {
	t.Helper()
	select {
	case e, ok := <-c:
		if !ok {
			t.Fatal("subscription closed")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for an event")
	}
	panic("unreachable")
}

// noEvent checks that nothing is waiting on c.
func noEvent(t *testing.T, c <-chan facegate.Event) {
	t.Helper()
	select {
	case e := <-c:
		t.Fatalf("unexpected event %s %s/%s", e.ID, e.Stream, e.Type)
	default:
	}
}

func ev(stream string, typ facegate.EventType) facegate.Event {
	return facegate.Event{Stream: stream, Type: typ}
}

func TestIDsConcurrent(t *testing.T) {
	const goroutines, each = 8, 500
	b := NewBus(goroutines * each)
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				ids[g] = append(ids[g], b.Publish(ev("cam", facegate.EventMatch)).ID)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for g, list := range ids {
		for i, id := range list {
			if seen[id] {
				t.Fatalf("duplicate ID %s", id)
			}
			seen[id] = true
			if len(id) != 22 {
				t.Fatalf("ID %q: want 22 characters", id)
			}
			if i > 0 && id <= list[i-1] {
				t.Fatalf("goroutine %d: ID %s after %s", g, id, list[i-1])
			}
		}
	}
	// The ring is in publication order, so its IDs must strictly increase.
	all := b.Recent(Filter{}, 0)
	if len(all) != goroutines*each {
		t.Fatalf("ring holds %d events, want %d", len(all), goroutines*each)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID <= all[i-1].ID {
			t.Fatalf("publication order: ID %s after %s", all[i].ID, all[i-1].ID)
		}
	}
}

func TestIDsAcrossRestart(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	old := newBus(4, t0.UnixMilli(), time.Now)
	var last string
	for range 1000 {
		last = old.Publish(ev("cam", facegate.EventCrowd)).ID
	}
	restarted := newBus(4, t0.Add(time.Millisecond).UnixMilli(), time.Now)
	if first := restarted.Publish(ev("cam", facegate.EventCrowd)).ID; first <= last {
		t.Fatalf("after restart: ID %s not after %s", first, last)
	}
	if want := fmt.Sprintf("%013d-%08d", t0.UnixMilli(), 1000); last != want {
		t.Fatalf("ID format: got %s, want %s", last, want)
	}

	// Real buses made one after the other, even within the same millisecond.
	a := NewBus(0)
	ida := a.Publish(ev("cam", facegate.EventCrowd)).ID
	b := NewBus(0)
	if idb := b.Publish(ev("cam", facegate.EventCrowd)).ID; idb <= ida {
		t.Fatalf("second bus: ID %s not after %s", idb, ida)
	}
}

func TestIDSequenceOverflow(t *testing.T) {
	b := NewBus(8)
	b.seq = seqLimit - 3
	var prev string
	for range 6 {
		id := b.Publish(ev("cam", facegate.EventMatch)).ID
		if len(id) != 22 || id <= prev {
			t.Fatalf("ID %q after %q", id, prev)
		}
		prev = id
	}
}

func TestPublishSetsTime(t *testing.T) {
	fixed := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	b := newBus(4, 1, func() time.Time { return fixed })
	if got := b.Publish(ev("cam", facegate.EventMatch)); !got.Time.Equal(fixed) || got.ID == "" {
		t.Fatalf("published %+v: want time %v and an ID", got, fixed)
	}
	own := fixed.Add(-time.Hour)
	if got := b.Publish(facegate.Event{Type: facegate.EventMatch, Time: own}); !got.Time.Equal(own) {
		t.Fatalf("time %v replaced by %v", own, got.Time)
	}
}

func TestFilterMatch(t *testing.T) {
	e := facegate.Event{Stream: "cam1", Type: facegate.EventMatch}
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"zero", Filter{}, true},
		{"stream", Filter{Streams: []string{"cam1"}}, true},
		{"other stream", Filter{Streams: []string{"cam2"}}, false},
		{"streams", Filter{Streams: []string{"cam2", "cam1"}}, true},
		{"type", Filter{Types: []facegate.EventType{facegate.EventMatch}}, true},
		{"other type", Filter{Types: []facegate.EventType{facegate.EventUnknown}}, false},
		{"types", Filter{Types: []facegate.EventType{facegate.EventUnknown, facegate.EventMatch}}, true},
		{"both", Filter{Streams: []string{"cam1"}, Types: []facegate.EventType{facegate.EventMatch}}, true},
		{"stream ok, type not", Filter{Streams: []string{"cam1"}, Types: []facegate.EventType{facegate.EventCrowd}}, false},
		{"type ok, stream not", Filter{Streams: []string{"cam9"}, Types: []facegate.EventType{facegate.EventMatch}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Match(&e); got != tt.want {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSubscribeFilterAndReplay(t *testing.T) {
	b := NewBus(100)
	var pub []facegate.Event
	for i := range 10 {
		typ := facegate.EventMatch
		if i%2 == 1 {
			typ = facegate.EventTrackStarted
		}
		pub = append(pub, b.Publish(ev(fmt.Sprintf("cam%d", i%3), typ)))
	}
	f := Filter{Types: []facegate.EventType{facegate.EventMatch}}
	tests := []struct {
		name  string
		f     Filter
		after string
		want  []facegate.Event
	}{
		{"no replay", f, "", nil},
		{"after the 4th", f, pub[3].ID, []facegate.Event{pub[4], pub[6], pub[8]}},
		{"after the 4th, unfiltered", Filter{}, pub[3].ID, pub[4:]},
		{"after the last", f, pub[9].ID, nil},
		{"older than the ring", Filter{Streams: []string{"cam0"}}, "0000000000000-00000000", []facegate.Event{pub[0], pub[3], pub[6], pub[9]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := b.Subscribe(tt.f, tt.after)
			defer s.Close()
			for _, want := range tt.want {
				if got := recv(t, s.C); got.ID != want.ID {
					t.Fatalf("replayed %s, want %s", got.ID, want.ID)
				}
			}
			noEvent(t, s.C)
		})
	}

	// Replay, then live, with no gap and no repeat.
	s := b.Subscribe(Filter{Streams: []string{"cam1"}}, pub[5].ID)
	defer s.Close()
	live := b.Publish(ev("cam1", facegate.EventCrowd))
	b.Publish(ev("cam2", facegate.EventCrowd))
	for _, want := range []string{pub[7].ID, live.ID} {
		if got := recv(t, s.C); got.ID != want {
			t.Fatalf("got %s, want %s", got.ID, want)
		}
	}
	noEvent(t, s.C)
}

func TestReplayLargerThanBuffer(t *testing.T) {
	b := NewBus(1000)
	first := b.Publish(ev("cam", facegate.EventMatch))
	for range 999 {
		b.Publish(ev("cam", facegate.EventMatch))
	}
	s := b.Subscribe(Filter{}, first.ID)
	defer s.Close()
	live := b.Publish(ev("cam", facegate.EventMatch))
	var last string
	for range 999 {
		last = recv(t, s.C).ID
	}
	if got := recv(t, s.C); got.ID != live.ID || got.ID <= last || s.Dropped() != 0 {
		t.Fatalf("live event %s after replay (last %s), dropped %d", got.ID, last, s.Dropped())
	}
}

func TestSlowSubscriberDoesNotBlock(t *testing.T) {
	b := NewBus(0)
	slow := b.Subscribe(Filter{}, "")
	defer slow.Close()
	other := b.Subscribe(Filter{Streams: []string{"other"}}, "")
	defer other.Close()
	const n = 1000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			b.Publish(ev("cam", facegate.EventMatch))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked on a subscriber that does not read")
	}
	if got := slow.Dropped(); got != n-SubscriberBuffer {
		t.Errorf("Dropped = %d, want %d", got, n-SubscriberBuffer)
	}
	if got := other.Dropped(); got != 0 {
		t.Errorf("non-matching subscriber: Dropped = %d, want 0", got)
	}
	// The buffered events are the oldest ones, in order.
	prev := ""
	for range SubscriberBuffer {
		e := recv(t, slow.C)
		if e.ID <= prev {
			t.Fatalf("ID %s after %s", e.ID, prev)
		}
		prev = e.ID
	}
	noEvent(t, slow.C)
}

func TestSubscriptionClose(t *testing.T) {
	b := NewBus(0)
	s := b.Subscribe(Filter{}, "")
	e := b.Publish(ev("cam", facegate.EventMatch))
	s.Close()
	s.Close() // harmless
	if b.subscribers() != 0 {
		t.Fatalf("%d subscribers after Close", b.subscribers())
	}
	b.Publish(ev("cam", facegate.EventMatch)) // no panic on a closed channel
	var got []string
	for x := range s.C { // closed: the loop ends after the buffered event
		got = append(got, x.ID)
	}
	if !slices.Equal(got, []string{e.ID}) {
		t.Fatalf("after Close read %v, want [%s]", got, e.ID)
	}
}

func TestBusClose(t *testing.T) {
	b := NewBus(0)
	s := b.Subscribe(Filter{}, "")
	b.Close()
	if _, ok := <-s.C; ok {
		t.Fatal("subscription open after Bus.Close")
	}
	s.Close()
	b.Publish(ev("cam", facegate.EventMatch))
	late := b.Subscribe(Filter{}, "")
	if _, ok := <-late.C; ok {
		t.Fatal("subscription after Bus.Close is open")
	}
	late.Close()
	if got := len(b.Recent(Filter{}, 0)); got != 1 {
		t.Fatalf("Recent after Close: %d events, want 1", got)
	}
}

func TestRecent(t *testing.T) {
	b := NewBus(5)
	var pub []facegate.Event
	for i := range 8 { // the ring keeps the last 5: pub[3:]
		typ := facegate.EventMatch
		if i%2 == 0 {
			typ = facegate.EventUnknown
		}
		pub = append(pub, b.Publish(ev("cam", typ)))
	}
	unknown := Filter{Types: []facegate.EventType{facegate.EventUnknown}}
	tests := []struct {
		name string
		f    Filter
		n    int
		want []facegate.Event
	}{
		{"all", Filter{}, 0, pub[3:]},
		{"two newest", Filter{}, 2, pub[6:]},
		{"more than held", Filter{}, 100, pub[3:]},
		{"filtered", unknown, 0, []facegate.Event{pub[4], pub[6]}},
		{"filtered, one", unknown, 1, []facegate.Event{pub[6]}},
		{"none match", Filter{Streams: []string{"x"}}, 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := b.Recent(tt.f, tt.n)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d events, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].ID != tt.want[i].ID {
					t.Fatalf("event %d: %s, want %s", i, got[i].ID, tt.want[i].ID)
				}
			}
		})
	}
}

func TestRemoveAndPrune(t *testing.T) {
	b := NewBus(8)
	t0 := time.Now()
	for i := 0; i < 12; i++ { // the ring keeps the last 8
		e := facegate.Event{Type: facegate.EventMatch, Time: t0.Add(time.Duration(i) * time.Minute),
			Match: &facegate.Match{Gallery: "g", Subject: []string{"a", "b"}[i%2]}}
		b.Publish(e)
	}
	if n := b.Remove(func(e *facegate.Event) bool { return e.Match != nil && e.Match.Subject == "a" }); n != 4 {
		t.Fatalf("removed %d events of subject a, want 4", n)
	}
	left := b.Recent(Filter{}, 0)
	if len(left) != 4 {
		t.Fatalf("%d events left, want 4", len(left))
	}
	for _, e := range left {
		if e.Match.Subject != "b" {
			t.Fatalf("an event of subject a survived: %+v", e)
		}
	}
	// Events 5, 7, 9, 11 (minutes) are left; pruning before minute 8 drops 5 and 7.
	if n := b.Prune(t0.Add(8 * time.Minute)); n != 2 {
		t.Fatalf("pruned %d, want 2", n)
	}
	if got := b.Recent(Filter{}, 0); len(got) != 2 || !got[0].Time.Equal(t0.Add(9*time.Minute)) {
		t.Fatalf("after prune: %+v", got)
	}
	// The ring keeps working: new events go after the survivors, in order, and replay sees them.
	e := b.Publish(facegate.Event{Type: facegate.EventCrowd})
	got := b.Recent(Filter{}, 0)
	if len(got) != 3 || got[2].ID != e.ID || got[0].ID >= got[1].ID {
		t.Fatalf("after publishing: %+v", got)
	}
}

// TestPublishIfRefusedIsNotDelivered: an event its admit function refuses (the server: a match whose audit entry
// could not be written) reaches no subscriber and is not kept for replay; the next one is delivered in order.
func TestPublishIfRefusedIsNotDelivered(t *testing.T) {
	b := NewBus(8)
	sub := b.Subscribe(Filter{}, "")
	defer sub.Close()
	var seen string
	refused := errors.New("audit unavailable")
	got, err := b.PublishIf(ev("cam", facegate.EventMatch), func(e facegate.Event) error { seen = e.ID; return refused })
	if !errors.Is(err, refused) || seen == "" || got.ID != seen {
		t.Fatalf("PublishIf = %+v, %v; admit saw %q", got, err, seen)
	}
	if n := len(b.Recent(Filter{}, 0)); n != 0 {
		t.Fatalf("a refused event was kept for replay (%d events)", n)
	}
	ok, err := b.PublishIf(ev("cam", facegate.EventMatch), func(facegate.Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if e := recv(t, sub.C); e.ID != ok.ID {
		t.Fatalf("subscriber got %s, want the admitted %s (the refused one must not arrive)", e.ID, ok.ID)
	}
	if r := b.Recent(Filter{}, 0); len(r) != 1 || r[0].ID != ok.ID {
		t.Fatalf("replay holds %v, want only the admitted event", r)
	}
}
