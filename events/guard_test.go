package events

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// TestWebhookInternalAddressRefused replays a webhook aimed at the server's own network: the loopback (as an
// address, as IPv6, as an IPv4-mapped IPv6 address, and as the name "localhost"), the cloud metadata address
// and a private address. Without AllowPrivateNetworks no request reaches the receiver (a real one, on the
// loopback) and the stats say why; with it, the same receiver gets the event.
func TestWebhookInternalAddressRefused(t *testing.T) {
	rc := newReceiver(t, status(204))
	port := rc.srv.URL[strings.LastIndexByte(rc.srv.URL, ':'):]
	urls := []string{
		rc.srv.URL,
		"http://localhost" + port + "/hook",
		"http://[::ffff:127.0.0.1]" + port + "/hook",
		"http://[::1]" + port + "/hook",
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1:1/hook",
	}
	d := NewDeliverer(DelivererOptions{MaxAttempts: 1, MinBackoff: 5 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	e := publishN(NewBus(0), 1)[0]
	for _, u := range urls {
		d.Send(facegate.Webhook{URL: u, Secret: testSecret}, e)
	}
	for _, u := range urls {
		waitFor(t, "giving up on "+u, func() bool { return d.Stats()[u].Dropped == 1 })
		if s := d.Stats()[u]; s.Delivered != 0 || !strings.Contains(s.LastError, "--allow-private-networks") {
			t.Errorf("%s: stats %+v", u, s)
		}
	}
	if n := len(rc.requests()); n != 0 {
		t.Fatalf("the receiver got %d requests", n)
	}

	allowed := testDeliverer(t, DelivererOptions{})
	allowed.Send(facegate.Webhook{URL: rc.srv.URL, Secret: testSecret}, e)
	waitFor(t, "delivery with private networks allowed", func() bool { return allowed.Stats()[rc.srv.URL].Delivered == 1 })
}
