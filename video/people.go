package video

import (
	"sort"
	"time"

	"github.com/facegate/facegate/video/track"
)

// crowdTrack is what the crowd figures keep of a track seen in the interval: in memory only, dropped with the
// interval.
type crowdTrack struct {
	person  string // the first track of the person (re-linked tracks share it)
	subject string // the gallery subject it matched, "" when none
	// tmpl is the track's fused template: nil when no view was good enough to embed, and when the interval
	// already holds maxDedupTracks templates (such a track is compared with none, as countPeople would not).
	tmpl []float32
	// embedded is whether the track had a template when last seen (UnembeddedTracks counts those without).
	embedded    bool
	first, last time.Time // when it was seen in the interval
}

// maxDedupTracks bounds the template comparisons of one interval (quadratic in the tracks): past it, the
// remaining tracks count as people of their own.
const maxDedupTracks = 2000

// countPeople is the number of distinct people among the interval's tracks. Tracks of one person (re-linked)
// or of one matched subject are one; then tracks whose templates are at least minSim alike are merged, most
// alike first, unless they were in view at the same time (two faces in one frame are two people). A track
// without a template is one person.
func countPeople(tracks map[string]*crowdTrack, minSim float32) int {
	ids := make([]string, 0, len(tracks))
	for id := range tracks {
		ids = append(ids, id)
	}
	sort.Strings(ids) // deterministic
	parent := make([]int, len(ids))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	// spans of each group, to refuse merging people seen together
	spans := make([][]*crowdTrack, len(ids))
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		parent[rb] = ra
		spans[ra] = append(spans[ra], spans[rb]...)
		spans[rb] = nil
	}
	byKey := map[string]int{}
	for i, id := range ids {
		ct := tracks[id]
		spans[i] = []*crowdTrack{ct}
		for _, k := range []string{"p:" + ct.person, "s:" + ct.subject} {
			if k == "s:" || k == "p:" {
				continue
			}
			if j, ok := byKey[k]; ok {
				union(j, i)
			} else {
				byKey[k] = i
			}
		}
	}
	type pair struct {
		a, b int
		sim  float32
	}
	var pairs []pair
	var withTmpl []int
	for i, id := range ids {
		if tracks[id].tmpl != nil && len(withTmpl) < maxDedupTracks {
			withTmpl = append(withTmpl, i)
		}
	}
	for x, i := range withTmpl {
		for _, j := range withTmpl[x+1:] {
			if s := track.Cosine(tracks[ids[i]].tmpl, tracks[ids[j]].tmpl); s >= minSim {
				pairs = append(pairs, pair{i, j, s})
			}
		}
	}
	sort.SliceStable(pairs, func(x, y int) bool { return pairs[x].sim > pairs[y].sim })
	for _, p := range pairs {
		ra, rb := find(p.a), find(p.b)
		if ra == rb || together(spans[ra], spans[rb]) {
			continue
		}
		union(ra, rb)
	}
	n := 0
	for i := range ids {
		if find(i) == i {
			n++
		}
	}
	return n
}

// together reports whether a track of one group was in view at the same time as a track of the other.
func together(a, b []*crowdTrack) bool {
	for _, x := range a {
		for _, y := range b {
			if !x.first.After(y.last) && !y.first.After(x.last) {
				return true
			}
		}
	}
	return false
}
