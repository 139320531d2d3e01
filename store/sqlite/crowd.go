package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/facegate/facegate"
)

// AddCrowd stores one crowd interval of an existing stream (the figures as JSON: aggregates only, nothing about
// who). An unknown stream is ErrNotFound.
func (db *DB) AddCrowd(ctx context.Context, c *facegate.CrowdRecord) error {
	if c.Stream == "" || c.From.IsZero() || c.To.Before(c.From) {
		return errors.New("sqlite: add crowd: empty stream or bad interval")
	}
	b, err := json.Marshal(&c.Crowd)
	if err != nil {
		return fmt.Errorf("sqlite: add crowd of %s: %w", c.Stream, err)
	}
	_, err = db.exec(ctx, "INSERT INTO crowds(stream_id, event_id, from_at, to_at, figures) VALUES (?, ?, ?, ?, ?)",
		c.Stream, c.Event, nanos(c.From), nanos(c.To), string(b))
	switch {
	case isForeignKey(err):
		return fmt.Errorf("sqlite: add crowd: %w", notFound("stream", c.Stream))
	case err != nil:
		return fmt.Errorf("sqlite: add crowd of %s: %w", c.Stream, err)
	}
	return nil
}

// Crowds lists the stream's crowd intervals that overlap from..to (a zero time leaves that end open) in the
// order they ended, at most limit of them. Unreadable rows are left out and listed in a *facegate.BadRowsError
// returned with the others.
func (db *DB) Crowds(ctx context.Context, streamID string, from, to time.Time, limit int) ([]facegate.CrowdRecord, error) {
	out := []facegate.CrowdRecord{}
	err := db.EachCrowd(ctx, streamID, from, to, limit, func(c *facegate.CrowdRecord) error {
		out = append(out, *c)
		return nil
	})
	return out, err
}

// EachCrowd calls fn for each interval Crowds would list, reading one row at a time, and stops at fn's first
// error, which it returns as it is. Unreadable rows are skipped and, when fn never failed, listed at the end in a
// *facegate.BadRowsError.
func (db *DB) EachCrowd(ctx context.Context, streamID string, from, to time.Time, limit int, fn func(c *facegate.CrowdRecord) error) error {
	if limit <= 0 {
		return errors.New("sqlite: crowds: limit must be positive")
	}
	q, args := "SELECT id, event_id, figures FROM crowds WHERE stream_id = ?", []any{streamID}
	if !from.IsZero() {
		q, args = q+" AND to_at > ?", append(args, nanos(from))
	}
	if !to.IsZero() {
		q, args = q+" AND from_at < ?", append(args, nanos(to))
	}
	rows, err := db.read.QueryContext(ctx, q+" ORDER BY to_at, id LIMIT ?", append(args, limit)...)
	if err != nil {
		return fmt.Errorf("sqlite: crowds of %s: %w", streamID, err)
	}
	defer rows.Close()
	var bad []facegate.BadRow
	for rows.Next() {
		var id int64
		var figures string
		c := facegate.CrowdRecord{Stream: streamID}
		if err := rows.Scan(&id, &c.Event, &figures); err != nil {
			return fmt.Errorf("sqlite: crowds of %s: %w", streamID, err)
		}
		if err := json.Unmarshal([]byte(figures), &c.Crowd); err != nil {
			b, _ := asBadRow(badValue("crowd", strconv.FormatInt(id, 10), "figures", err))
			bad = append(bad, b)
			continue
		}
		if err := fn(&c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: crowds of %s: %w", streamID, err)
	}
	if len(bad) > 0 {
		return &facegate.BadRowsError{Rows: bad}
	}
	return nil
}

// DeleteCrowdsBefore deletes the crowd intervals, of every stream, that ended at or before t and returns how
// many it deleted.
func (db *DB) DeleteCrowdsBefore(ctx context.Context, t time.Time) (int, error) {
	res, err := db.exec(ctx, "DELETE FROM crowds WHERE to_at <= ?", nanos(t))
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete old crowds: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete old crowds: %w", err)
	}
	return int(n), nil
}

// Bounds of the times a nanosecond count can hold (about the years 1678 to 2262).
var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// nanos is t in Unix nanoseconds, clamped to what an int64 holds, so that a period asked for far in the past or
// future still compares the right way (time.UnixNano is undefined there).
func nanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
