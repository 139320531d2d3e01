package facegate

import (
	"context"
	"time"
)

// CrowdRecord is one stored crowd interval of a stream: the figures of its crowd event (numbers only, nothing
// about who), kept for history until the crowd retention deletes them.
type CrowdRecord struct {
	// Stream is the ID of the stream the figures are of; Event the ID of the crowd event that carried them.
	Stream string `json:"stream"`
	Event  string `json:"event,omitempty"`
	Crowd
}

// DefaultCrowdRetention is how long stored crowd intervals are kept by default (serve --crowd-retention).
const DefaultCrowdRetention = 90 * 24 * time.Hour

// CrowdStore keeps the history of streams' crowd figures. Deleting a stream deletes its history. A period
// from..to selects the intervals that overlap it: To after from and From before to, a zero time leaving that
// end open.
type CrowdStore interface {
	// AddCrowd stores one crowd interval of an existing stream.
	AddCrowd(ctx context.Context, c *CrowdRecord) error
	// Crowds lists the stream's intervals overlapping from..to in the order they ended, oldest first, at most
	// limit of them.
	Crowds(ctx context.Context, streamID string, from, to time.Time, limit int) ([]CrowdRecord, error)
	// EachCrowd calls fn for each of the intervals Crowds would list, one at a time, and stops at fn's first
	// error, which it returns.
	EachCrowd(ctx context.Context, streamID string, from, to time.Time, limit int, fn func(c *CrowdRecord) error) error
	// DeleteCrowdsBefore deletes the intervals that ended at or before t, of every stream, and returns how many.
	DeleteCrowdsBefore(ctx context.Context, t time.Time) (int, error)
}
