package events

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/facegate/facegate"
)

// ErrUnknownType is wrapped by ParseFilter's error for an event type that does not exist.
var ErrUnknownType = errors.New("unknown event type")

// Filter selects events by stream and type. An empty list matches everything: the zero Filter matches
// every event.
type Filter struct {
	Streams []string             `json:"streams,omitempty"`
	Types   []facegate.EventType `json:"types,omitempty"`
}

// Match reports whether e passes the filter.
func (f Filter) Match(e *facegate.Event) bool {
	return (len(f.Streams) == 0 || slices.Contains(f.Streams, e.Stream)) &&
		(len(f.Types) == 0 || slices.Contains(f.Types, e.Type))
}

func (f Filter) clone() Filter {
	return Filter{Streams: slices.Clone(f.Streams), Types: slices.Clone(f.Types)}
}

// ParseFilter reads a filter from query parameters: stream=a,b and type=match,unknown_face, as
// comma-separated lists, repeated parameters, or both. Empty items are ignored and duplicates removed. An
// unknown type is an error (wrapping ErrUnknownType) that names the valid ones.
func ParseFilter(q url.Values) (Filter, error) {
	var f Filter
	for _, s := range splitList(q["stream"]) {
		if !slices.Contains(f.Streams, s) {
			f.Streams = append(f.Streams, s)
		}
	}
	for _, s := range splitList(q["type"]) {
		t := facegate.EventType(s)
		if !slices.Contains(facegate.EventTypes, t) {
			valid := make([]string, len(facegate.EventTypes))
			for i, v := range facegate.EventTypes {
				valid[i] = string(v)
			}
			return Filter{}, fmt.Errorf("events: %w %q (valid: %s)", ErrUnknownType, s, strings.Join(valid, ", "))
		}
		if !slices.Contains(f.Types, t) {
			f.Types = append(f.Types, t)
		}
	}
	return f, nil
}

// splitList splits each value at commas and returns the non-empty, trimmed items.
func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}
