package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/facegate/facegate"
)

// slots bound the images decoded and analysed at once: at most total over all keys (Config.MaxAnalyses), and
// at most perKey for any one API key (Config.MaxAnalysesPerKey), so that a key flooding the server with
// expensive requests queues behind its own share and the other keys still find slots free.
//
// A key's requests that wait for a slot hold their bodies (read before the wait, up to --max-body each), so a key
// may have at most maxWaiting of them waiting: further ones are refused at once (503 busy), which bounds the
// memory one key can pin to (perKey + maxWaiting) bodies.
type slots struct {
	total      chan struct{}
	perKey     int
	maxWaiting int
	mu         sync.Mutex
	keys       map[string]*keySlots
}

// keySlots is one key's share: a semaphore of perKey, and how many requests hold or wait for it (the entry
// goes when none does, so the map holds only active keys).
type keySlots struct {
	sem   chan struct{}
	users int
}

func newSlots(total, perKey int) *slots {
	return &slots{total: make(chan struct{}, total), perKey: perKey, maxWaiting: waitingPerKey(perKey), keys: map[string]*keySlots{}}
}

// waitingPerKey is how many of one key's requests may wait for a slot: four times its share, at least 8.
func waitingPerKey(perKey int) int { return max(8, 4*perKey) }

// inUse is the number of slots held now.
func (s *slots) inUse() int { return len(s.total) }

// join registers a request of key and returns its share, or nil when the key already has as many requests
// running and waiting as it may.
func (s *slots) join(key string) *keySlots {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil {
		k = &keySlots{sem: make(chan struct{}, s.perKey)}
		s.keys[key] = k
	}
	if k.users >= s.perKey+s.maxWaiting {
		return nil
	}
	k.users++
	return k
}

// leave undoes join.
func (s *slots) leave(key string, k *keySlots) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k.users--; k.users == 0 {
		delete(s.keys, key)
	}
}

// acquire waits for a slot of key's share and then for one of the total, until ctx ends (the client went away,
// or the request timeout). It returns the release function, or a 503 busy error saying which wait ran out.
func (s *slots) acquire(ctx context.Context, key string) (func(), error) {
	k := s.join(key)
	if k == nil {
		return nil, errf(http.StatusServiceUnavailable, codeBusy,
			"server busy: this API key already has %d requests running or waiting for analysis; wait for them before sending more", s.perKey+s.maxWaiting)
	}
	select {
	case k.sem <- struct{}{}:
	case <-ctx.Done():
		s.leave(key, k)
		return nil, errf(http.StatusServiceUnavailable, codeBusy,
			"server busy: this API key already has %d analyses running (its share, --max-analyses-per-key) and none ended before the request did; retry later or send fewer requests at once", s.perKey)
	}
	select {
	case s.total <- struct{}{}:
	case <-ctx.Done():
		<-k.sem
		s.leave(key, k)
		return nil, errf(http.StatusServiceUnavailable, codeBusy, "server busy: no analysis slot became free before the request ended; retry later")
	}
	var once sync.Once
	release := func() {
		once.Do(func() {
			<-s.total
			<-k.sem
			s.leave(key, k)
		})
	}
	if ctx.Err() != nil {
		// The slot came free as the request ended (both were ready): no work for a client that has gone.
		release()
		return nil, errf(http.StatusServiceUnavailable, codeBusy, "server busy: no analysis slot became free before the request ended; retry later")
	}
	return release, nil
}

// acquire waits for a free analysis slot within the calling key's share; the caller must call the returned
// release. The wait ends with the request's context: a client that has gone away stops waiting.
func (s *Server) acquire(ctx context.Context) (func(), error) {
	start := time.Now()
	key := ""
	if k, ok := ctx.Value(keyCtx).(*facegate.APIKey); ok {
		key = k.ID
	}
	release, err := s.analyses.acquire(ctx, key)
	if err != nil {
		return nil, err
	}
	s.metrics.observe("facegate_analysis_wait_seconds", "Time requests waited for an analysis slot.", time.Since(start))
	return release, nil
}
