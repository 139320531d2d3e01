package facegate

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckGeometry(t *testing.T) {
	sq := []FramePoint{{0, 0}, {1, 0}, {1, 1}, {0, 1}}
	many := make([]FramePoint, MaxZonePoints+1)
	for i := range many {
		many[i] = FramePoint{X: float64(i) / float64(len(many)), Y: float64(i%2) / 2}
	}
	zones := func(n int) []Zone {
		out := make([]Zone, n)
		for i := range out {
			out[i] = Zone{Name: strings.Repeat("z", i+1), Points: sq}
		}
		return out
	}
	line := Line{Name: "door", From: FramePoint{0.5, 0}, To: FramePoint{0.5, 1}}
	for _, c := range []struct {
		name string
		st   Stream
		err  error  // nil: valid
		say  string // in the message
	}{
		{"none", Stream{}, nil, ""},
		{"a zone and a line", Stream{Zones: []Zone{{Name: "hall", Points: sq}}, Lines: []Line{line}}, nil, ""},
		{"two points", Stream{Zones: []Zone{{Name: "hall", Points: sq[:2]}}}, ErrInvalid, "at least 3 points"},
		{"point outside", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0, 0}, {1.5, 0}, {1, 1}}}}}, ErrInvalid, "outside the frame"},
		{"negative point", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0, -0.1}, {1, 0}, {1, 1}}}}}, ErrInvalid, "outside the frame"},
		{"no name", Stream{Zones: []Zone{{Points: sq}}}, ErrInvalid, "no name"},
		{"same name twice", Stream{Zones: []Zone{{Name: "hall", Points: sq}, {Name: "hall", Points: sq}}}, ErrInvalid, "used twice"},
		{"too many zones", Stream{Zones: zones(MaxZones + 1)}, ErrTooLong, "the limit is 16"},
		{"as many zones as allowed", Stream{Zones: zones(MaxZones)}, nil, ""},
		{"too many points", Stream{Zones: []Zone{{Name: "hall", Points: many}}}, ErrTooLong, "the limit is 64"},
		{"line of one point", Stream{Lines: []Line{{Name: "door", From: FramePoint{0.5, 0.5}, To: FramePoint{0.5, 0.5}}}}, ErrInvalid, "same point"},
		{"line of two points 1e-300 apart", Stream{Lines: []Line{{Name: "door", From: FramePoint{0, 0}, To: FramePoint{1e-300, 0}}}}, ErrInvalid, "same point"},
		{"short line", Stream{Lines: []Line{{Name: "door", From: FramePoint{0.5, 0.5}, To: FramePoint{0.5, 0.502}}}}, nil, ""},
		{"zone of one point thrice", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0.5, 0.5}, {0.5, 0.5}, {0.5, 0.5}}}}}, ErrInvalid, "encloses no area"},
		{"zone on one line", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0, 0}, {0.5, 0.5}, {1, 1}, {0.25, 0.25}}}}}, ErrInvalid, "encloses no area"},
		{"zone on the frame's edge", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0, 0}, {1, 0}, {0.5, 0}}}}}, ErrInvalid, "encloses no area"},
		{"thin zone", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0, 0.5}, {1, 0.5}, {1, 0.505}, {0, 0.505}}}}}, nil, ""},
		{"crossed zone (a bow tie)", Stream{Zones: []Zone{{Name: "hall", Points: []FramePoint{{0, 0}, {1, 1}, {1, 0}, {0, 1}}}}}, nil, ""},
		{"line end outside", Stream{Lines: []Line{{Name: "door", From: FramePoint{0.5, 0.5}, To: FramePoint{2, 0.5}}}}, ErrInvalid, "outside the frame"},
		{"zone and line may share a name", Stream{Zones: []Zone{{Name: "door", Points: sq}}, Lines: []Line{line}}, nil, ""},
		{"name too long", Stream{Zones: []Zone{{Name: strings.Repeat("n", MaxNameLen+1), Points: sq}}}, ErrTooLong, "zones[0].name is 201 bytes"},
		{"too many lines", Stream{Lines: make([]Line, MaxLines+1)}, ErrTooLong, "the limit is 16"},
	} {
		err := c.st.CheckGeometry()
		switch {
		case c.err == nil && err != nil:
			t.Errorf("%s: %v, want valid", c.name, err)
		case c.err != nil && !errors.Is(err, c.err):
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		case c.err != nil:
			if msg, ok := UserMessage(err); !ok || !strings.Contains(msg, c.say) {
				t.Errorf("%s: message %q, want it to say %q", c.name, msg, c.say)
			}
		}
	}
}

func TestDwellHistogram(t *testing.T) {
	h := NewDwellHistogram()
	for _, d := range []float64{0, 4.9, 5, 29, 30, 119.9, 120, 599, 600, 3600} {
		AddDwell(h, d)
	}
	want := []DwellBucket{{0, 5, 2}, {5, 30, 2}, {30, 120, 2}, {120, 600, 2}, {600, 0, 2}}
	for i := range want {
		if h[i] != want[i] {
			t.Errorf("bucket %d = %+v, want %+v", i, h[i], want[i])
		}
	}
}
