package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
)

// CreateStream configures and starts a stream.
func (c *Client) CreateStream(ctx context.Context, req StreamRequest) (*StreamInfo, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out StreamInfo
	_, err = c.do(ctx, "POST", "/v1/streams", nil, b, &out)
	return &out, err
}

// ReplaceStream replaces a stream's whole configuration and restarts it. A webhook with the same URL and an
// empty secret keeps the stored secret.
func (c *Client) ReplaceStream(ctx context.Context, id string, req StreamRequest) (*StreamInfo, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out StreamInfo
	_, err = c.do(ctx, "PUT", "/v1/streams/"+esc(id), nil, b, &out)
	return &out, err
}

// Streams lists the configured streams with their status.
func (c *Client) Streams(ctx context.Context) ([]StreamInfo, error) {
	var out StreamList
	_, err := c.do(ctx, "GET", "/v1/streams", nil, nil, &out)
	return out.Streams, err
}

// Stream returns one stream with its status.
func (c *Client) Stream(ctx context.Context, id string) (*StreamInfo, error) {
	var out StreamInfo
	_, err := c.do(ctx, "GET", "/v1/streams/"+esc(id), nil, nil, &out)
	return &out, err
}

// DeleteStream stops a stream and deletes its configuration and the match crops it kept.
func (c *Client) DeleteStream(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/v1/streams/"+esc(id), nil, nil, nil)
	return err
}

// EventFilter selects events by stream and type (empty: all).
type EventFilter struct {
	Streams []string
	Types   []facegate.EventType
}

func (f EventFilter) query() url.Values {
	q := url.Values{}
	if len(f.Streams) > 0 {
		q.Set("stream", strings.Join(f.Streams, ","))
	}
	if len(f.Types) > 0 {
		ts := make([]string, len(f.Types))
		for i, t := range f.Types {
			ts[i] = string(t)
		}
		q.Set("type", strings.Join(ts, ","))
	}
	return q
}

// RecentEvents returns up to limit of the newest events the server holds in memory, oldest first.
func (c *Client) RecentEvents(ctx context.Context, f EventFilter, limit int) ([]facegate.Event, error) {
	q := f.query()
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out EventList
	_, err := c.do(ctx, "GET", "/v1/events/recent", q, nil, &out)
	return out.Events, err
}

// MatchCrop fetches the stored face crop (JPEG) of a match event.
func (c *Client) MatchCrop(ctx context.Context, eventID string) ([]byte, error) {
	var raw []byte
	_, err := c.do(ctx, "GET", "/v1/events/"+esc(eventID)+"/crop", nil, nil, &raw)
	return raw, err
}

// Events subscribes to the server's Server-Sent Events. The stream opens before Events returns (so nothing
// published afterwards is missed); events arrive on the channel, which is closed when ctx ends or the connection
// drops, after which the returned error function says why (nil when ctx ended). after resumes after an event id.
func (c *Client) Events(ctx context.Context, f EventFilter, after string) (<-chan facegate.Event, func() error, error) {
	u := *c.base
	u.Path += "/v1/events"
	u.RawQuery = f.query().Encode()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("api: %w", err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if after != "" {
		req.Header.Set("Last-Event-ID", after)
	}
	// No overall timeout: the response lasts as long as the subscription.
	hc := &http.Client{Transport: c.http.Transport}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("api: events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		var eb ErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&eb)
		return nil, nil, &Error{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
	}
	ch := make(chan facegate.Event, 64)
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20) // match events carry a JPEG crop
		var typ string
		var data strings.Builder
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if data.Len() > 0 && typ != "lagged" {
					var e facegate.Event
					if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
						readErr = fmt.Errorf("api: events: %w", err)
						return
					}
					select {
					case ch <- e:
					case <-ctx.Done():
						return
					}
				}
				typ = ""
				data.Reset()
			case strings.HasPrefix(line, "event:"):
				typ = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				if data.Len() > 0 {
					data.WriteByte('\n')
				}
				data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
		if err := sc.Err(); err != nil && ctx.Err() == nil {
			readErr = fmt.Errorf("api: events: %w", err)
		}
	}()
	return ch, func() error { <-done; return readErr }, nil
}

// StreamHeatmap returns the stream's density heatmap summed over its stored crowd intervals that overlap
// from..to (a zero time leaves that end open).
func (c *Client) StreamHeatmap(ctx context.Context, id string, from, to time.Time) (*StreamHeatmap, error) {
	var out StreamHeatmap
	_, err := c.do(ctx, "GET", "/v1/streams/"+esc(id)+"/heatmap", periodQuery(from, to), nil, &out)
	return &out, err
}

// StreamCrowds returns the stream's stored crowd intervals that overlap from..to (a zero time leaves that end
// open), oldest first, at most limit of them (0: the server's default, 100).
func (c *Client) StreamCrowds(ctx context.Context, id string, from, to time.Time, limit int) (*StreamCrowds, error) {
	q := periodQuery(from, to)
	if limit != 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out StreamCrowds
	_, err := c.do(ctx, "GET", "/v1/streams/"+esc(id)+"/crowd", q, nil, &out)
	return &out, err
}

// periodQuery is the from and to parameters of a period (a zero time is left out).
func periodQuery(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", from.Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		q.Set("to", to.Format(time.RFC3339Nano))
	}
	return q
}
