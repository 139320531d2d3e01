package events

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
)

// Heartbeat is how often ServeSSE sends a ": ping" comment, which keeps proxies from closing an idle stream
// and lets the server notice a client that went away. Zero or less means the 15 s default. Set it before
// serving.
var Heartbeat = 15 * time.Second

const defaultHeartbeat = 15 * time.Second

// ServeSSE streams the events matching f to w as Server-Sent Events until the client goes away, r's context
// ends or the bus is closed. The response has Content-Type text/event-stream, Cache-Control no-cache and
// X-Accel-Buffering no (so nginx does not buffer it), and any write deadline of the server is lifted. Each
// event is sent, and flushed, as
//
//	id: <event ID>
//	event: <event type>
//	data: <the event as one line of JSON>
//
// followed by an empty line. A ": ping" comment is sent every Heartbeat. A client that reconnects with the
// Last-Event-ID header (or the last_event_id query parameter) first receives the events after that ID that
// the bus's ring still holds. When the client fell behind and events were dropped, it is sent
//
//	event: lagged
//	data: {"dropped":<events lost since the previous lagged message>}
//
// (with no id, so the client's last event ID stays that of the last event received). ServeSSE returns an
// error, wrapping http.ErrNotSupported and without writing anything, only when w cannot stream (it does not
// implement http.Flusher); otherwise it returns nil.
func ServeSSE(w http.ResponseWriter, r *http.Request, b *Bus, f Filter) error {
	hb := Heartbeat
	if hb <= 0 {
		hb = defaultHeartbeat
	}
	return serveSSE(w, r, b, f, hb)
}

func serveSSE(w http.ResponseWriter, r *http.Request, b *Bus, f Filter, heartbeat time.Duration) error {
	if !canFlush(w) {
		return fmt.Errorf("events: server-sent events: response writer cannot flush: %w", http.ErrNotSupported)
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout; not every writer supports it

	after := r.Header.Get("Last-Event-ID")
	if after == "" {
		after = r.URL.Query().Get("last_event_id")
	}
	sub := b.Subscribe(f, after)
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	if rc.Flush() != nil {
		return nil
	}

	ctx := r.Context()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	var reported uint64 // drops already announced
	buf := make([]byte, 0, 1024)
	for {
		buf = buf[:0]
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			buf = appendLagged(buf, sub, &reported)
			buf = append(buf, ": ping\n\n"...)
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			buf = appendLagged(buf, sub, &reported)
			var err error
			if buf, err = appendEvent(buf, &e); err != nil {
				slog.Warn("events: server-sent events: skipping an event", "id", e.ID, "err", err)
				if len(buf) == 0 {
					continue
				}
			}
		}
		if _, err := w.Write(buf); err != nil {
			return nil
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}

// appendLagged appends a lagged message when the subscription dropped events since the last one.
func appendLagged(buf []byte, sub *Subscription, reported *uint64) []byte {
	d := sub.Dropped()
	if d == *reported {
		return buf
	}
	buf = append(buf, "event: lagged\ndata: {\"dropped\":"...)
	buf = strconv.AppendUint(buf, d-*reported, 10)
	buf = append(buf, "}\n\n"...)
	*reported = d
	return buf
}

// appendEvent appends e as one SSE message. On error buf is returned unchanged.
func appendEvent(buf []byte, e *facegate.Event) ([]byte, error) {
	data, err := json.Marshal(e) // one line: JSON strings escape control characters
	if err != nil {
		return buf, fmt.Errorf("events: encoding event %s: %w", e.ID, err)
	}
	buf = append(buf, "id: "...)
	buf = append(buf, oneLine(e.ID)...)
	if t := oneLine(string(e.Type)); t != "" {
		buf = append(buf, "\nevent: "...)
		buf = append(buf, t...)
	}
	buf = append(buf, "\ndata: "...)
	buf = append(buf, data...)
	return append(buf, "\n\n"...), nil
}

// oneLine returns s, or "" when s would break an SSE field (a line break or NUL).
func oneLine(s string) string {
	if strings.ContainsAny(s, "\r\n\x00") {
		return ""
	}
	return s
}

// canFlush reports whether w, or a writer it wraps (Unwrap, as http.ResponseController follows), can flush.
func canFlush(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case http.Flusher:
			return true
		case interface{ FlushError() error }:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}
