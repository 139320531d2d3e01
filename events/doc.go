// Package events distributes the events that video streams publish (tracks started and ended, matches,
// unknown faces, stream status, crowd figures) to the people and programs that follow them: an in-memory
// [Bus] with a replay ring, Server-Sent Events ([ServeSSE]) and signed webhooks ([Deliverer]).
//
// # Event IDs
//
// [Bus.Publish] gives every event an ID of the form
//
//	<start>-<seq>    formatted "%013d-%08d", e.g. "1735689600000-00000042"
//
// where start is the bus's start time in Unix milliseconds and seq counts the events published since then,
// from 1. IDs have a fixed width, so they compare as plain strings: they are unique, strictly increase in
// publication order, and keep increasing across restarts of the process (a new bus starts later, so its
// start field is larger), as long as the wall clock does not go back between the two runs. Should seq ever
// pass 99999999, start moves forward by at least one millisecond and seq starts again from 1, keeping both
// properties. A receiver de-duplicates by ID and, per stream, orders by ID.
//
// # Live delivery and replay
//
// The bus keeps the newest events (1024 by default) in a ring. A subscriber, and so an SSE client, may ask for
// the events after an ID it has seen (SSE: the Last-Event-ID header, or ?last_event_id=) and first receives
// the ring's newer events, then live ones, without gaps or repetitions as long as the events it missed are
// still in the ring. Publishing never blocks: a subscriber that falls more than 256 events behind loses the
// newer ones, which are counted ([Subscription.Dropped]); an SSE client is then sent an "event: lagged"
// message and may reconnect with its last ID to fetch what the ring still holds.
//
// # Webhooks
//
// A [Deliverer] POSTs each event, as JSON, to a [facegate.Webhook]'s URL. Delivery is at least once: an event
// is retried with exponential backoff until the endpoint answers 2xx (or MaxAttempts is reached), so the
// endpoint may see an event more than once (a 2xx that was lost on the way back, a retry after a timeout) and
// must de-duplicate by the X-Facegate-Event-Id header (equal to the body's "id"). Delivery is in order per URL:
// one worker per URL sends its queue one event at a time, and the next event is not sent before the current
// one was accepted or given up on.
//
// Each request carries the headers
//
//	Content-Type:          application/json
//	X-Facegate-Event-Id:   the event ID
//	X-Facegate-Event-Type: the event type
//	X-Facegate-Timestamp:  Unix seconds at which this attempt was made
//	X-Facegate-Signature:  v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>   (when the webhook has a secret)
//
// Requests go only to public addresses unless [DelivererOptions].AllowPrivateNetworks (serve
// --allow-private-networks): a URL whose host is, or resolves to, a loopback, private, link-local or other
// internal address is refused when the connection is dialled (package netguard), so a webhook cannot be
// pointed at the server's own network or a cloud metadata service, even through DNS rebinding. Redirects are
// never followed.
//
// A receiver recomputes the signature over the raw body with [Verify] (or [Sign]), compares it in constant
// time, and rejects timestamps too far from its clock, which stops the replay of a captured request. The
// signature header may list several comma-separated values (e.g. during a secret rotation); one valid value
// is enough.
//
// # No persistence
//
// Everything here lives in memory: the replay ring and the webhook queues (1000 events per URL by default,
// the oldest dropped and counted when full) are lost when the process stops, and [Deliverer.Close] does not
// wait for queued events. Receivers that must not miss an event reconcile from the stored data.
package events
