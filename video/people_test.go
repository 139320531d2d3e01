package video

import (
	"testing"
	"time"
)

func TestCountPeople(t *testing.T) {
	t0 := time.Unix(1e9, 0)
	span := func(from, to float64) (time.Time, time.Time) {
		return t0.Add(time.Duration(from * float64(time.Second))), t0.Add(time.Duration(to * float64(time.Second)))
	}
	a, b := []float32{1, 0, 0}, []float32{0, 1, 0}
	aa := []float32{0.9, 0.1, 0} // like a
	tr := func(person, subject string, tmpl []float32, from, to float64) *crowdTrack {
		f, l := span(from, to)
		return &crowdTrack{person: person, subject: subject, tmpl: tmpl, first: f, last: l}
	}
	for _, tc := range []struct {
		name   string
		tracks map[string]*crowdTrack
		want   int
	}{
		{"empty", nil, 0},
		{"two faces", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 1), "t2": tr("t2", "", b, 0, 1)}, 2},
		{"a re-appearance", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 1), "t2": tr("t2", "", aa, 10, 11)}, 1},
		{"alike but in view together", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 5), "t2": tr("t2", "", aa, 4, 6)}, 2},
		{"re-linked", map[string]*crowdTrack{"t1": tr("t1", "", a, 0, 1), "t2": tr("t1", "", b, 2, 3)}, 1},
		{"one subject", map[string]*crowdTrack{"t1": tr("t1", "s1", a, 0, 1), "t2": tr("t2", "s1", b, 2, 3)}, 1},
		{"no template: a person each", map[string]*crowdTrack{"t1": tr("t1", "", nil, 0, 1), "t2": tr("t2", "", nil, 2, 3)}, 2},
		{"the most alike merge first", map[string]*crowdTrack{
			"t1": tr("t1", "", a, 0, 1), "t2": tr("t2", "", aa, 0, 1), "t3": tr("t3", "", a, 5, 6)}, 2},
	} {
		if got := countPeople(tc.tracks, 0.5); got != tc.want {
			t.Errorf("%s: %d people, want %d", tc.name, got, tc.want)
		}
	}
}
