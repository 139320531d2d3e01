package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/netguard"
)

// Deliverer defaults.
const (
	DefaultWebhookTimeout = 10 * time.Second
	DefaultMaxQueue       = 1000
	DefaultMinBackoff     = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
)

// maxRetryAfter bounds a Retry-After wait (when longer than MaxBackoff).
const maxRetryAfter = time.Hour

// DelivererOptions configure a Deliverer; zero fields take the defaults.
type DelivererOptions struct {
	// Client sends the requests. Default: a 10 s timeout, redirects not followed (a 3xx is a failure), no
	// proxy, and connections to loopback, private, link-local and other internal addresses refused when they
	// are dialled (package netguard) unless AllowPrivateNetworks.
	Client *http.Client
	// AllowPrivateNetworks lets the default client deliver to internal addresses (serve
	// --allow-private-networks: receivers on the deployment's own network).
	AllowPrivateNetworks bool
	// MaxQueue is how many events may wait per URL (besides the one being delivered), default 1000. When
	// the queue is full, the oldest waiting event is dropped and counted.
	MaxQueue int
	// MinBackoff is the wait after a first failed attempt (default 1 s); it doubles with every further
	// failure up to MaxBackoff (default 5 min), with jitter (each wait is between half and all of it). A 429
	// or 503 answer with a Retry-After header waits that long instead.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts, when > 0, gives up on an event after that many failed attempts (it counts as dropped);
	// 0 retries until the event is delivered or the deliverer is closed.
	MaxAttempts int
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// WebhookStats are the counters of one webhook URL.
type WebhookStats struct {
	Delivered uint64 `json:"delivered"` // events accepted with a 2xx
	Attempts  uint64 `json:"attempts"`  // requests made
	Failures  uint64 `json:"failures"`  // attempts that got no 2xx (other status or transport error)
	Dropped   uint64 `json:"dropped"`   // events lost: queue overflow, MaxAttempts reached, sent after Close
	Queued    int    `json:"queued"`    // events waiting now, including the one being delivered
	// LastError describes the latest failed attempt ("" when none has failed); it stays after a success.
	LastError string `json:"last_error,omitempty"`
}

// Deliverer POSTs events to webhooks: at least once, in order per URL, HMAC-signed (see the package
// documentation). Its methods are safe for concurrent use.
type Deliverer struct {
	client      *http.Client
	maxQueue    int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	maxAttempts int
	log         *slog.Logger

	ctx    context.Context // requests; cancelled when Close gives up waiting
	cancel context.CancelFunc
	stop   chan struct{} // closed by Close

	mu      sync.Mutex
	closed  bool
	workers map[string]*worker
	wg      sync.WaitGroup
}

// item is one event waiting for delivery, already encoded.
type item struct {
	id, typ string
	secret  string
	body    []byte
	// gallery and subject are those a match event names, so an erasure can drop it from the queue.
	gallery, subject string
}

// worker holds the queue and counters of one URL; its goroutine runs while the queue is not empty.
type worker struct {
	d   *Deliverer
	url string

	mu       sync.Mutex
	queue    []item
	running  bool
	inflight bool
	failing  bool
	stats    WebhookStats
}

// NewDeliverer returns a deliverer; Close it to stop its workers.
func NewDeliverer(o DelivererOptions) *Deliverer {
	if o.Client == nil {
		o.Client = &http.Client{
			Transport:     netguard.Transport(o.AllowPrivateNetworks),
			Timeout:       DefaultWebhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = DefaultMaxQueue
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Deliverer{
		client:      o.Client,
		maxQueue:    o.MaxQueue,
		minBackoff:  o.MinBackoff,
		maxBackoff:  o.MaxBackoff,
		maxAttempts: max(o.MaxAttempts, 0),
		log:         o.Logger,
		ctx:         ctx,
		cancel:      cancel,
		stop:        make(chan struct{}),
		workers:     make(map[string]*worker),
	}
}

// Send queues e for delivery to w and returns at once. The event is encoded now, so later changes to it do
// not matter. After Close, or when e cannot be encoded, the event is dropped (and counted).
func (d *Deliverer) Send(w facegate.Webhook, e facegate.Event) {
	body, err := json.Marshal(&e)
	d.mu.Lock()
	defer d.mu.Unlock()
	wk := d.workers[w.URL]
	if wk == nil {
		wk = &worker{d: d, url: w.URL}
		d.workers[w.URL] = wk
	}
	wk.mu.Lock()
	defer wk.mu.Unlock()
	switch {
	case err != nil:
		wk.stats.Dropped++
		d.log.Error("events: webhook: cannot encode event; dropped", "url", redact(w.URL), "id", e.ID, "err", err)
		return
	case d.closed:
		wk.stats.Dropped++
		d.log.Warn("events: webhook: event sent after close; dropped", "url", redact(w.URL), "id", e.ID)
		return
	}
	if len(wk.queue) >= d.maxQueue {
		old := wk.queue[0]
		wk.queue[0] = item{}
		wk.queue = wk.queue[1:]
		wk.stats.Dropped++
		d.log.Warn("events: webhook: queue full; oldest event dropped", "url", redact(w.URL), "id", old.id,
			"max_queue", d.maxQueue)
	}
	it := item{id: e.ID, typ: string(e.Type), secret: w.Secret, body: body}
	if e.Match != nil {
		it.gallery, it.subject = e.Match.Gallery, e.Match.Subject
	}
	wk.queue = append(wk.queue, it)
	if !wk.running {
		wk.running = true
		d.wg.Add(1) // under d.mu with d.closed false, so never concurrent with Close's Wait
		go wk.run()
	}
}

// Close stops the workers: no new attempt is started, waits between retries end at once, and an attempt in
// flight may finish until ctx ends, when it is abandoned. Close returns when every worker has stopped: nil,
// or ctx's error when it had to abandon attempts. Events still queued are lost (and stay counted as Queued).
// Calling Close again waits the same way.
func (d *Deliverer) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()

	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		d.cancel()
		<-done
		err = fmt.Errorf("events: closing webhook deliverer: %w", ctx.Err())
	}
	d.cancel()

	for url, s := range d.Stats() {
		if s.Queued > 0 {
			d.log.Warn("events: webhook: undelivered events lost at close", "url", redact(url), "events", s.Queued)
		}
	}
	return err
}

// Stats returns the counters of every URL that was sent an event, keyed by URL.
func (d *Deliverer) Stats() map[string]WebhookStats {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]WebhookStats, len(d.workers))
	for u, w := range d.workers {
		w.mu.Lock()
		s := w.stats
		s.Queued = len(w.queue)
		if w.inflight {
			s.Queued++
		}
		w.mu.Unlock()
		out[u] = s
	}
	return out
}

func (d *Deliverer) stopped() bool {
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// run delivers the queue, one event at a time, until it is empty or the deliverer stops.
func (w *worker) run() {
	defer w.d.wg.Done()
	for {
		w.mu.Lock()
		if len(w.queue) == 0 || w.d.stopped() {
			w.running = false
			w.mu.Unlock()
			return
		}
		it := w.queue[0]
		w.queue[0] = item{}
		w.queue = w.queue[1:]
		w.inflight = true
		w.mu.Unlock()

		done := w.deliver(&it)

		w.mu.Lock()
		w.inflight = false
		if !done { // stopped: the event is still undelivered, first in line
			w.queue = append([]item{it}, w.queue...)
		}
		w.mu.Unlock()
	}
}

// deliver tries it until it is delivered or given up on (true), or until the deliverer stops (false).
func (w *worker) deliver(it *item) bool {
	d := w.d
	for attempt := 1; ; attempt++ {
		if d.stopped() {
			return false
		}
		retryAfter, err := w.attempt(it)
		if err != nil && d.stopped() && errors.Is(err, context.Canceled) {
			return false // abandoned by Close
		}
		w.mu.Lock()
		if err == nil {
			w.stats.Delivered++
			recovered := w.failing
			w.failing = false
			w.mu.Unlock()
			if recovered {
				d.log.Info("events: webhook: delivering again", "url", redact(w.url), "id", it.id)
			}
			return true
		}
		w.stats.Failures++
		w.stats.LastError = err.Error()
		first := !w.failing
		w.failing = true
		giveUp := d.maxAttempts > 0 && attempt >= d.maxAttempts
		if giveUp {
			w.stats.Dropped++
		}
		w.mu.Unlock()
		if giveUp {
			d.log.Warn("events: webhook: giving up on event", "url", redact(w.url), "id", it.id,
				"attempts", attempt, "err", err)
			return true
		}
		wait := d.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, max(d.maxBackoff, maxRetryAfter))
		}
		if first {
			d.log.Warn("events: webhook: delivery failed; retrying", "url", redact(w.url), "id", it.id,
				"err", err, "retry_in", wait)
		} else {
			d.log.Debug("events: webhook: delivery failed; retrying", "url", redact(w.url), "id", it.id,
				"attempt", attempt, "err", err, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.stop:
			t.Stop()
			return false
		}
	}
}

// attempt POSTs it once. It returns nil on a 2xx answer; otherwise the error and, for a 429 or 503 with a
// Retry-After header, how long the server asked to wait.
func (w *worker) attempt(it *item) (time.Duration, error) {
	d := w.d
	w.mu.Lock()
	w.stats.Attempts++
	w.mu.Unlock()

	req, err := http.NewRequestWithContext(d.ctx, http.MethodPost, w.url, bytes.NewReader(it.body))
	if err != nil {
		return 0, fmt.Errorf("events: webhook request: %w", err)
	}
	ts := time.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facegate-webhook/"+facegate.Version)
	req.Header.Set(HeaderEventID, it.id)
	req.Header.Set(HeaderEventType, it.typ)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	if it.secret != "" {
		req.Header.Set(HeaderSignature, Sign(it.secret, ts, it.body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("events: webhook POST: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	var retryAfter time.Duration
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return retryAfter, fmt.Errorf("events: webhook POST: HTTP %s", resp.Status)
}

// backoff is the wait after the given failed attempt: MinBackoff doubled per earlier failure, capped at
// MaxBackoff, then jittered to between half and all of it.
func (d *Deliverer) backoff(attempt int) time.Duration {
	b := d.minBackoff
	for i := 1; i < attempt && b < d.maxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.maxBackoff)
	half := b / 2
	return half + rand.N(b-half+1)
}

// parseRetryAfter reads a Retry-After value, delay-seconds or an HTTP date; 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// redact returns u without user info, query and fragment, for logs (they may hold credentials).
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(invalid URL)"
	}
	p.User, p.RawQuery, p.ForceQuery, p.Fragment, p.RawFragment = nil, "", false, "", ""
	return p.String()
}

// DropSubject removes from every queue the events that name the subject (an erasure) and returns how many it
// removed. An attempt already in flight is not recalled.
func (d *Deliverer) DropSubject(gallery, subject string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, wk := range d.workers {
		wk.mu.Lock()
		kept := wk.queue[:0] // the event in flight is not in the queue
		for _, it := range wk.queue {
			if it.gallery == gallery && it.subject == subject {
				n++
				continue
			}
			kept = append(kept, it)
		}
		clear(wk.queue[len(kept):])
		wk.queue = kept
		wk.mu.Unlock()
	}
	return n
}
