package events

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/facegate/facegate"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    Filter
		wantErr bool
	}{
		{"", Filter{}, false},
		{"stream=a", Filter{Streams: []string{"a"}}, false},
		{"stream=a,b", Filter{Streams: []string{"a", "b"}}, false},
		{"stream=a&stream=b,c", Filter{Streams: []string{"a", "b", "c"}}, false},
		{"stream=a,,+b+,&stream=", Filter{Streams: []string{"a", "b"}}, false},
		{"stream=a,a&stream=a", Filter{Streams: []string{"a"}}, false},
		{"type=match,unknown_face", Filter{Types: []facegate.EventType{facegate.EventMatch, facegate.EventUnknown}}, false},
		{"type=match&type=crowd", Filter{Types: []facegate.EventType{facegate.EventMatch, facegate.EventCrowd}}, false},
		{"stream=cam1&type=track_started,track_ended,stream_status", Filter{Streams: []string{"cam1"},
			Types: []facegate.EventType{facegate.EventTrackStarted, facegate.EventTrackEnded, facegate.EventStreamStatus}}, false},
		{"type=match,bogus", Filter{}, true},
		{"type=MATCH", Filter{}, true},
		{"other=1&stream=x", Filter{Streams: []string{"x"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseFilter(q)
			if tt.wantErr {
				if !errors.Is(err, ErrUnknownType) {
					t.Fatalf("err = %v, want ErrUnknownType", err)
				}
				for _, typ := range facegate.EventTypes {
					if !strings.Contains(err.Error(), string(typ)) {
						t.Errorf("error %q does not name %s", err, typ)
					}
				}
				if !strings.HasPrefix(err.Error(), "events: ") {
					t.Errorf("error %q lacks the events: prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "stream=a,b&type=match", "type=bogus", "stream=%2C&type=,crowd,", "stream=a&stream=a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q)
		if err != nil {
			if !errors.Is(err, ErrUnknownType) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		for _, s := range flt.Streams {
			if s == "" || strings.Contains(s, ",") || s != strings.TrimSpace(s) {
				t.Fatalf("bad stream %q", s)
			}
		}
		for _, typ := range flt.Types {
			e := facegate.Event{Type: typ}
			if !(Filter{Types: facegate.EventTypes}).Match(&e) {
				t.Fatalf("unknown type %q accepted", typ)
			}
		}
		// Parsing the filter's own encoding gives it back.
		back := url.Values{}
		if len(flt.Streams) > 0 {
			back["stream"] = flt.Streams
		}
		for _, typ := range flt.Types {
			back.Add("type", string(typ))
		}
		again, err := ParseFilter(back)
		if err != nil || !reflect.DeepEqual(again, flt) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, flt)
		}
	})
}
