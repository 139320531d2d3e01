package events

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

const testSecret = "whsec_test"

// request is what a receiver saw of one delivery attempt.
type request struct {
	ID, Type  string
	Body      []byte
	At        time.Time
	VerifyErr error
	Status    int
}

// receiver is an httptest webhook endpoint that verifies every signature and answers with respond.
type receiver struct {
	srv     *httptest.Server
	respond func(n int, r *http.Request, w http.ResponseWriter) int // n counts requests from 1; returns the status written
	mu      sync.Mutex
	reqs    []request
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request, w http.ResponseWriter) int) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := request{ID: r.Header.Get(HeaderEventID), Type: r.Header.Get(HeaderEventType), Body: body, At: time.Now(),
			VerifyErr: Verify(testSecret, r.Header, body, time.Minute, time.Now())}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			req.VerifyErr = errors.New("not a JSON POST")
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, req)
		n := len(rc.reqs)
		rc.mu.Unlock()
		status := rc.respond(n, r, w)
		rc.mu.Lock()
		rc.reqs[n-1].Status = status
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}

// accepted returns the IDs the receiver answered with a 2xx, checking every request's signature.
func (rc *receiver) accepted(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, r := range rc.requests() {
		if r.VerifyErr != nil {
			t.Fatalf("request for %s: %v", r.ID, r.VerifyErr)
		}
		var e facegate.Event
		if err := json.Unmarshal(r.Body, &e); err != nil || e.ID != r.ID || string(e.Type) != r.Type {
			t.Fatalf("body %s (%v) does not match headers id %s type %s", r.Body, err, r.ID, r.Type)
		}
		if r.Status >= 200 && r.Status < 300 {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func status(code int) func(int, *http.Request, http.ResponseWriter) int {
	return func(_ int, _ *http.Request, w http.ResponseWriter) int { w.WriteHeader(code); return code }
}

func testDeliverer(t *testing.T, o DelivererOptions) *Deliverer {
	t.Helper()
	if o.MinBackoff == 0 {
		o.MinBackoff = 5 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 20 * time.Millisecond
	}
	o.Logger = slog.New(slog.DiscardHandler)
	o.AllowPrivateNetworks = true // the receivers are httptest servers on the loopback
	d := NewDeliverer(o)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = d.Close(ctx)
	})
	return d
}

func publishN(b *Bus, n int) []facegate.Event {
	out := make([]facegate.Event, n)
	for i := range out {
		out[i] = b.Publish(facegate.Event{Stream: "cam1", Type: facegate.EventMatch, Track: "7",
			Match: &facegate.Match{Gallery: "g", Subject: "s", Score: 0.8, Threshold: 0.5}})
	}
	return out
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) int {
		if n <= 3 {
			w.WriteHeader(http.StatusInternalServerError)
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	d := testDeliverer(t, DelivererOptions{})
	e := publishN(NewBus(0), 1)[0]
	d.Send(facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}, e)
	waitFor(t, "delivery", func() bool { return d.Stats()[rc.srv.URL].Delivered == 1 })

	if got := rc.accepted(t); !slices.Equal(got, []string{e.ID}) {
		t.Fatalf("accepted %v, want exactly [%s]", got, e.ID)
	}
	reqs := rc.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for _, r := range reqs {
		if r.ID != e.ID || string(r.Body) != string(reqs[0].Body) {
			t.Fatalf("attempt for %s (body %s), want the same event %s every time", r.ID, r.Body, e.ID)
		}
	}
	s := d.Stats()[rc.srv.URL]
	if s.Delivered != 1 || s.Attempts != 4 || s.Failures != 3 || s.Dropped != 0 || s.Queued != 0 ||
		!strings.Contains(s.LastError, "500") {
		t.Fatalf("stats %+v", s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestWebhookInOrderPerURL(t *testing.T) {
	// Every third request fails, so delivery goes through retries; the order must hold anyway.
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) int {
		if n%3 == 0 {
			w.WriteHeader(http.StatusBadGateway)
			return http.StatusBadGateway
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	})
	// A second URL that never answers must not hold up the first.
	stuck := make(chan struct{})
	hang := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) int {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
		return 0
	})
	defer close(stuck)

	d := testDeliverer(t, DelivererOptions{})
	events := publishN(NewBus(0), 20)
	var want []string
	for _, e := range events {
		d.Send(facegate.Webhook{URL: hang.srv.URL, Secret: testSecret}, e)
		d.Send(facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}, e)
		want = append(want, e.ID)
	}
	waitFor(t, "20 deliveries", func() bool { return d.Stats()[rc.srv.URL].Delivered == 20 })
	if got := rc.accepted(t); !slices.Equal(got, want) {
		t.Fatalf("accepted\n%v\nwant\n%v", got, want)
	}
	var attempted []string
	for _, r := range rc.requests() {
		attempted = append(attempted, r.ID)
	}
	if !slices.IsSorted(attempted) {
		t.Fatalf("attempts out of order: %v", attempted)
	}
	if s := d.Stats()[hang.srv.URL]; s.Delivered != 0 || s.Queued != 20 {
		t.Fatalf("hanging URL stats %+v", s)
	}
}

func TestWebhookRetryAfter(t *testing.T) {
	rc := newReceiver(t, func(n int, _ *http.Request, w http.ResponseWriter) int {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	})
	d := testDeliverer(t, DelivererOptions{MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	d.Send(facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}, publishN(NewBus(0), 1)[0])
	waitFor(t, "delivery", func() bool { return d.Stats()[rc.srv.URL].Delivered == 1 })
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Fatalf("retried %v after a 429 with Retry-After: 1", gap)
	}
	rc.accepted(t)
}

func TestWebhookQueueFullDropsOldest(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) int {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		return http.StatusOK
	})
	d := testDeliverer(t, DelivererOptions{MaxQueue: 3})
	wh := facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}
	ev := publishN(NewBus(0), 6)
	d.Send(wh, ev[0])
	waitFor(t, "the first attempt", func() bool { return len(rc.requests()) == 1 })
	for _, e := range ev[1:] {
		d.Send(wh, e)
	}
	if s := d.Stats()[rc.srv.URL]; s.Dropped != 2 || s.Queued != 4 {
		t.Fatalf("stats %+v, want 2 dropped and 4 queued (3 waiting, 1 in flight)", s)
	}
	close(release)
	waitFor(t, "delivery", func() bool { return d.Stats()[rc.srv.URL].Delivered == 4 })
	if got, want := rc.accepted(t), []string{ev[0].ID, ev[3].ID, ev[4].ID, ev[5].ID}; !slices.Equal(got, want) {
		t.Fatalf("accepted %v, want %v", got, want)
	}
	if s := d.Stats()[rc.srv.URL]; s.Queued != 0 || s.Dropped != 2 || s.Failures != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestWebhookMaxAttempts(t *testing.T) {
	ev := publishN(NewBus(0), 2)
	rc := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) int {
		if r.Header.Get(HeaderEventID) == ev[0].ID {
			w.WriteHeader(http.StatusBadRequest)
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	d := testDeliverer(t, DelivererOptions{MaxAttempts: 2})
	for _, e := range ev {
		d.Send(facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}, e)
	}
	waitFor(t, "delivery", func() bool { return d.Stats()[rc.srv.URL].Delivered == 1 })
	if s := d.Stats()[rc.srv.URL]; s.Attempts != 3 || s.Failures != 2 || s.Dropped != 1 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
	if got := rc.accepted(t); !slices.Equal(got, []string{ev[1].ID}) {
		t.Fatalf("accepted %v", got)
	}
}

func TestWebhookCloseWhileReceiverHangs(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	rc := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) int {
		select {
		case <-stuck:
		case <-r.Context().Done():
		}
		return 0
	})
	d := testDeliverer(t, DelivererOptions{})
	wh := facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}
	ev := publishN(NewBus(0), 3)
	for _, e := range ev[:2] {
		d.Send(wh, e)
	}
	waitFor(t, "the attempt", func() bool { return len(rc.requests()) == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := d.Close(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("Close took %v", took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want context.DeadlineExceeded", err)
	}
	d.Send(wh, ev[2]) // after Close: dropped
	s := d.Stats()[rc.srv.URL]
	if s.Delivered != 0 || s.Queued != 2 || s.Dropped != 1 || s.Failures != 0 {
		t.Fatalf("stats %+v, want 2 undelivered events still queued and 1 dropped", s)
	}
	if err := d.Close(context.Background()); err != nil { // again: nothing left to wait for
		t.Fatalf("second Close: %v", err)
	}
}

func TestWebhookCloseDuringBackoff(t *testing.T) {
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	d := testDeliverer(t, DelivererOptions{MinBackoff: time.Hour, MaxBackoff: time.Hour})
	d.Send(facegate.Webhook{URL: rc.srv.URL}, publishN(NewBus(0), 1)[0])
	waitFor(t, "the failed attempt", func() bool { return d.Stats()[rc.srv.URL].Failures == 1 })
	done := make(chan error, 1)
	go func() { done <- d.Close(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for the backoff")
	}
}

func TestWebhookWithoutSecret(t *testing.T) {
	var mu sync.Mutex
	var h http.Header
	rc := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) int {
		mu.Lock()
		h = r.Header.Clone()
		mu.Unlock()
		return http.StatusOK
	})
	d := testDeliverer(t, DelivererOptions{})
	d.Send(facegate.Webhook{URL: rc.srv.URL}, publishN(NewBus(0), 1)[0])
	waitFor(t, "delivery", func() bool { return d.Stats()[rc.srv.URL].Delivered == 1 })
	mu.Lock()
	defer mu.Unlock()
	if h.Get(HeaderSignature) != "" || h.Get(HeaderTimestamp) == "" || h.Get(HeaderEventID) == "" {
		t.Fatalf("headers %v: want a timestamp and an ID but no signature", h)
	}
	if err := rc.requests()[0].VerifyErr; !errors.Is(err, ErrNoSignature) {
		t.Fatalf("Verify: %v, want ErrNoSignature", err)
	}
}

func TestWebhookTransportErrorAndRedirect(t *testing.T) {
	redirect := newReceiver(t, func(_ int, r *http.Request, w http.ResponseWriter) int {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return http.StatusFound
	})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	d := testDeliverer(t, DelivererOptions{MaxAttempts: 2})
	e := publishN(NewBus(0), 1)[0]
	d.Send(facegate.Webhook{URL: redirect.srv.URL}, e)
	d.Send(facegate.Webhook{URL: deadURL}, e)
	d.Send(facegate.Webhook{URL: "::not a url"}, e)
	for _, u := range []string{redirect.srv.URL, deadURL, "::not a url"} {
		waitFor(t, "giving up on "+u, func() bool { return d.Stats()[u].Dropped == 1 })
		if s := d.Stats()[u]; s.Failures != 2 || s.Delivered != 0 || s.LastError == "" {
			t.Fatalf("%s: stats %+v", u, s)
		}
	}
	if n := len(redirect.requests()); n != 2 {
		t.Fatalf("redirecting receiver got %d requests, want 2 (redirects are not followed)", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"3", 3 * time.Second},
		{"999999999", maxRetryAfter},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.v, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	d := NewDeliverer(DelivererOptions{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	defer d.Close(context.Background())
	tests := []struct {
		attempt int
		base    time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond}, {5, time.Second}, {60, time.Second}}
	for _, tt := range tests {
		for range 50 {
			if got := d.backoff(tt.attempt); got < tt.base/2 || got > tt.base {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tt.attempt, got, tt.base/2, tt.base)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	if got := redact("https://user:pw@hooks.example.com/x/y?token=secret#f"); got != "https://hooks.example.com/x/y" {
		t.Fatalf("redact: %s", got)
	}
}

func TestWebhookDropSubject(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, r *http.Request, w http.ResponseWriter) int {
		if n == 1 {
			<-release // hold the first delivery in flight while the rest queue up
		}
		w.WriteHeader(http.StatusNoContent)
		return http.StatusNoContent
	})
	d := testDeliverer(t, DelivererOptions{})
	b := NewBus(0)
	hook := facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}
	var ids []string
	for i, subject := range []string{"y", "x", "y", "x"} {
		e := b.Publish(facegate.Event{Type: facegate.EventMatch, Match: &facegate.Match{Gallery: "g", Subject: subject}})
		ids = append(ids, e.ID)
		d.Send(hook, e)
		if i == 0 {
			waitFor(t, "first delivery in flight", func() bool { return len(rc.requests()) == 1 })
		}
	}
	if n := d.DropSubject("g", "x"); n != 2 {
		t.Fatalf("dropped %d queued events of subject x, want 2", n)
	}
	close(release)
	waitFor(t, "deliveries", func() bool { return d.Stats()[rc.srv.URL].Delivered == 2 })
	if got := rc.accepted(t); !slices.Equal(got, []string{ids[0], ids[2]}) {
		t.Fatalf("delivered %v, want %v", got, []string{ids[0], ids[2]})
	}
}
