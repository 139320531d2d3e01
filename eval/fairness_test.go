package eval

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

func near4(a, b float64) bool { return math.Abs(a-b) < 1e-4 }

func TestWilsonInterval(t *testing.T) {
	// Reference values of the 95% Wilson score interval (as tabulated, for
	// example, by Newcombe 1998 and any binomial CI calculator).
	for _, tc := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775},
		{5, 10, 0.2366, 0.7634},
		{1, 3, 0.0615, 0.7923},
		{2, 4, 0.1500, 0.8500},
		{3, 3, 0.4385, 1},
		{1, 1000, 0.000177, 0.005643},
		{0, 0, 0, 1},
		{-2, 5, 0, 0.4345}, // clamped to 0 of 5
		{7, 5, 0.5655, 1},  // clamped to 5 of 5
	} {
		lo, hi := WilsonInterval(tc.k, tc.n, z95)
		if !near4(lo, tc.lo) || !near4(hi, tc.hi) {
			t.Errorf("Wilson(%d/%d) = [%.5f, %.5f], want [%.4f, %.4f]", tc.k, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
	r := NewRate(1, 4)
	if r.Count != 1 || r.Total != 4 || r.Rate != 0.25 || !(r.Low < 0.25 && r.High > 0.25) {
		t.Errorf("NewRate(1, 4) = %+v", r)
	}
	if r := NewRate(0, 0); r.Rate != 0 || r.Low != 0 || r.High != 1 {
		t.Errorf("NewRate(0, 0) = %+v", r)
	}
}

// fairLabels and fairPairs are a small hand-checked case at threshold 0.5:
//
//	group A (alice, bob): genuine 4 (2 false non-matches), impostor 3 (1 false match)
//	group B (carol, dave): genuine 2 (0), impostor 2 (1, a score equal to the threshold)
//	cross A-B: impostor 2 (1); one genuine pair with inconsistent labels
//	unlabelled: zed (1 genuine, 1 impostor) and an empty identity (1 impostor)
var fairLabels = GroupLabels{"alice": {"A"}, "bob": {"A"}, "carol": {"B"}, "dave": {"B"}}

var fairPairs = []GroupPair{
	{0.9, true, "alice", "alice"},
	{0.4, true, "alice", "alice"},
	{0.7, true, "bob", "bob"},
	{math.NaN(), true, "bob", "bob"},
	{0.8, true, "carol", "carol"},
	{0.6, true, "dave", "dave"},
	{0.55, false, "alice", "bob"},
	{0.1, false, "alice", "bob"},
	{0.2, false, "bob", "alice"},
	{0.3, false, "carol", "dave"},
	{0.5, false, "carol", "dave"},
	{0.6, false, "alice", "carol"},
	{0.2, false, "dave", "bob"},
	{0.9, true, "zed", "zed"},
	{0.9, false, "zed", "alice"},
	{0.9, false, "", "bob"},
	{0.9, true, "alice", "carol"},
}

func TestGroupFairnessHandComputed(t *testing.T) {
	rep := GroupFairness(fairPairs, fairLabels, FairnessOptions{Threshold: 0.5, MinPairs: 2, Thresholds: []float64{0.35, math.Inf(1), 0.95}})
	if rep.Pairs != 17 || rep.GenuinePairs != 8 || rep.ImpostorPairs != 9 {
		t.Errorf("totals %d/%d/%d", rep.Pairs, rep.GenuinePairs, rep.ImpostorPairs)
	}
	if rep.UnlabelledGenuine != 1 || rep.UnlabelledImpostor != 2 || !reflect.DeepEqual(rep.UnlabelledIdentities, []string{"zed"}) {
		t.Errorf("unlabelled %d/%d %v", rep.UnlabelledGenuine, rep.UnlabelledImpostor, rep.UnlabelledIdentities)
	}
	if rep.GenuineCrossGroup != 1 {
		t.Errorf("genuine cross-group %d", rep.GenuineCrossGroup)
	}
	if c := rep.CrossGroupFMR; c.Count != 1 || c.Total != 2 || c.Rate != 0.5 {
		t.Errorf("cross-group FMR %+v", c)
	}
	if len(rep.CrossGroups) != 1 || rep.CrossGroups[0].A != "A" || rep.CrossGroups[0].B != "B" || rep.CrossGroups[0].FMR.Total != 2 {
		t.Errorf("cross groups %+v", rep.CrossGroups)
	}
	if len(rep.Groups) != 2 {
		t.Fatalf("groups %+v", rep.Groups)
	}
	a, b := rep.Groups[0], rep.Groups[1]
	if a.Group != "A" || a.Identities != 2 || a.FNMR.Count != 2 || a.FNMR.Total != 4 || a.FMR.Count != 1 || a.FMR.Total != 3 {
		t.Errorf("group A %+v", a)
	}
	if !near4(a.FNMR.Low, 0.1500) || !near4(a.FNMR.High, 0.8500) || !near4(a.FMR.Low, 0.0615) || !near4(a.FMR.High, 0.7923) {
		t.Errorf("group A intervals %+v", a)
	}
	if b.Group != "B" || b.Identities != 2 || b.FNMR.Count != 0 || b.FNMR.Total != 2 || b.FMR.Count != 1 || b.FMR.Total != 2 {
		t.Errorf("group B %+v", b)
	}
	wantROC := []GroupPoint{{0.35, 1.0 / 3, 0.25}, {0.95, 0, 1}}
	if !reflect.DeepEqual(a.ROC, wantROC) {
		t.Errorf("group A ROC %+v, want %+v", a.ROC, wantROC)
	}
	// Counts add up with one group per identity.
	gen, imp := rep.GenuineCrossGroup+rep.UnlabelledGenuine, rep.CrossGroupFMR.Total+rep.UnlabelledImpostor
	for _, g := range rep.Groups {
		gen += g.FNMR.Total
		imp += g.FMR.Total
	}
	if gen != rep.GenuinePairs || imp != rep.ImpostorPairs {
		t.Errorf("counts do not add up: %d/%d genuine, %d/%d impostor", gen, rep.GenuinePairs, imp, rep.ImpostorPairs)
	}

	// Spreads with both groups sufficient.
	f := rep.FMRSpread
	if !reflect.DeepEqual(f.Groups, []string{"A", "B"}) || len(f.Insufficient) != 0 || f.MinGroup != "A" || f.MaxGroup != "B" ||
		!near4(f.Min, 1.0/3) || f.Max != 0.5 || f.Ratio == nil || !near4(*f.Ratio, 1.5) || !near4(f.Difference, 1.0/6) {
		t.Errorf("FMR spread %+v", f)
	}
	n := rep.FNMRSpread
	if n.MinGroup != "B" || n.MaxGroup != "A" || n.Min != 0 || n.Max != 0.5 || n.Ratio != nil || n.Difference != 0.5 {
		t.Errorf("FNMR spread %+v (ratio must be null when the smallest rate is 0)", n)
	}

	// With MinPairs 3 group B is insufficient on both rates.
	rep = GroupFairness(fairPairs, fairLabels, FairnessOptions{Threshold: 0.5, MinPairs: 3})
	for _, sp := range []Spread{rep.FMRSpread, rep.FNMRSpread} {
		if !reflect.DeepEqual(sp.Groups, []string{"A"}) || !reflect.DeepEqual(sp.Insufficient, []string{"B"}) ||
			sp.MinGroup != "A" || sp.MaxGroup != "A" || sp.Difference != 0 || sp.Ratio == nil || *sp.Ratio != 1 {
			t.Errorf("spread with min 3: %+v", sp)
		}
	}
	if rep.Groups[0].ROC != nil {
		t.Error("ROC points without Thresholds")
	}
	// With MinPairs 10 nothing is sufficient.
	rep = GroupFairness(fairPairs, fairLabels, FairnessOptions{Threshold: 0.5, MinPairs: 10})
	if sp := rep.FMRSpread; len(sp.Groups) != 0 || len(sp.Insufficient) != 2 || sp.Ratio != nil || sp.MinGroup != "" {
		t.Errorf("spread with min 10: %+v", sp)
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("report does not marshal: %v", err)
	}
}

func TestGroupFairnessMultiGroup(t *testing.T) {
	labels := GroupLabels{"erin": {"A", "B"}, "alice": {"A"}, "carol": {"B"}, "nobody": {"C"}}
	pairs := []GroupPair{
		{0.2, true, "erin", "erin"},   // genuine in A and in B, false non-match
		{0.6, false, "erin", "alice"}, // impostor in A, false match
		{0.1, false, "carol", "erin"}, // impostor in B
		{0.7, false, "alice", "carol"},
	}
	rep := GroupFairness(pairs, labels, FairnessOptions{Threshold: 0.5})
	if rep.MinPairs != 1 {
		t.Errorf("MinPairs %d, want 1 for 0", rep.MinPairs)
	}
	want := map[string][4]int{"A": {1, 1, 1, 1}, "B": {1, 1, 0, 1}, "C": {0, 0, 0, 0}}
	for _, g := range rep.Groups {
		w := want[g.Group]
		if got := [4]int{g.FNMR.Count, g.FNMR.Total, g.FMR.Count, g.FMR.Total}; got != w {
			t.Errorf("group %s: fnm/genuine/fm/impostor %v, want %v", g.Group, got, w)
		}
	}
	if rep.Groups[0].Identities != 2 || rep.Groups[2].Identities != 0 {
		t.Errorf("identities %+v", rep.Groups)
	}
	if rep.CrossGroupFMR.Total != 1 || rep.CrossGroupFMR.Count != 1 {
		t.Errorf("cross %+v", rep.CrossGroupFMR)
	}
	if !reflect.DeepEqual(rep.FMRSpread.Insufficient, []string{"C"}) {
		t.Errorf("group C with no pairs should be insufficient: %+v", rep.FMRSpread)
	}
}

func TestSampleGroupImpostors(t *testing.T) {
	labels := GroupLabels{"a": {"G1"}, "b": {"G1"}, "c": {"G2"}}
	ids := []string{"a", "a", "b", "c", "c", "x", ""}
	if got := SampleGroupImpostors(ids, labels, 0, 1); !reflect.DeepEqual(got, [][2]int{{0, 2}, {1, 2}}) {
		t.Errorf("all: %v", got)
	}
	one := SampleGroupImpostors(ids, labels, 1, 1)
	if len(one) != 1 || one[0][1] != 2 {
		t.Errorf("max 1: %v", one)
	}

	// 200 images of 20 people in one group, 10 of them also in another.
	labels = GroupLabels{}
	ids = nil
	for p := 0; p < 20; p++ {
		id := fmt.Sprintf("p%02d", p)
		labels[id] = []string{"big"}
		if p < 10 {
			labels[id] = []string{"big", "half"}
		}
		for k := 0; k < 10; k++ {
			ids = append(ids, id)
		}
	}
	check := func(got [][2]int, maxPer int) {
		t.Helper()
		if !slices.IsSortedFunc(got, func(x, y [2]int) int {
			if x[0] != y[0] {
				return x[0] - y[0]
			}
			return x[1] - y[1]
		}) {
			t.Error("not sorted")
		}
		for i, p := range got {
			if p[0] >= p[1] || ids[p[0]] == ids[p[1]] || (i > 0 && got[i-1] == p) {
				t.Fatalf("bad pair %v", p)
			}
		}
		if len(got) < maxPer || len(got) > 2*maxPer {
			t.Errorf("%d pairs for at most %d per group over two groups", len(got), maxPer)
		}
	}
	s1 := SampleGroupImpostors(ids, labels, 500, 7)
	check(s1, 500)
	if s2 := SampleGroupImpostors(ids, labels, 500, 7); !reflect.DeepEqual(s1, s2) {
		t.Error("same seed, different sample")
	}
	if s3 := SampleGroupImpostors(ids, labels, 500, 8); reflect.DeepEqual(s1, s3) {
		t.Error("different seed, same sample")
	}
	// All cross-identity pairs of "big": C(200,2) - 20*C(10,2) = 19,900 - 900.
	if all := SampleGroupImpostors(ids, labels, 0, 1); len(all) != 19000 {
		t.Errorf("all pairs: %d, want 19000", len(all))
	}

	// More than 2^20 candidates: the rejection sampler.
	ids = make([]string, 1500)
	labels = GroupLabels{}
	for i := range ids {
		ids[i] = fmt.Sprintf("q%04d", i)
		labels[ids[i]] = []string{"crowd"}
	}
	big := SampleGroupImpostors(ids, labels, 300, 3)
	if len(big) != 300 {
		t.Errorf("rejection sampler gave %d pairs", len(big))
	}
	for _, p := range big {
		if p[0] >= p[1] || p[1] >= len(ids) {
			t.Fatalf("bad pair %v", p)
		}
	}
}

// goldenPairs is a tiny synthetic scored set for the golden report: three
// groups of two people, scores from integer arithmetic (no platform
// dependence).
func goldenPairs() ([]GroupPair, GroupLabels) {
	labels := GroupLabels{
		"ann": {"g1"}, "amy": {"g1"},
		"bob": {"g2"}, "ben": {"g2"},
		"cid": {"g3"}, "cal": {"g3", "kids"}, // cal is in two groups; zoe in none
	}
	people := []string{"amy", "ann", "ben", "bob", "cal", "cid", "zoe"}
	var pairs []GroupPair
	for i, a := range people {
		for k := 0; k < 3; k++ {
			// genuine: g1 high, g2 middling, g3 low scores.
			pairs = append(pairs, GroupPair{Score: float64(90-10*i-7*k) / 100, Same: true, A: a, B: a})
		}
		for j := i + 1; j < len(people); j++ {
			for k := 0; k < 3; k++ {
				pairs = append(pairs, GroupPair{Score: float64((13*i+7*j+11*k)%60) / 100, Same: false, A: a, B: people[j]})
			}
		}
	}
	return pairs, labels
}

func TestGroupFairnessGolden(t *testing.T) {
	pairs, labels := goldenPairs()
	rep := GroupFairness(pairs, labels, FairnessOptions{Threshold: 0.3326, MinPairs: 3, Thresholds: []float64{0.2416, 0.4089}})
	got, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	compareGolden(t, filepath.Join("testdata", "fairness_golden.json"), got)
}

// compareGolden compares got with the golden file, numbers within 1e-9 (so
// that a fused multiply-add on some platform does not fail the test);
// go test ./eval -run Golden -update rewrites the file.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if !jsonNear(g, w) {
		t.Errorf("report differs from %s (run with -update after checking):\n%s", path, got)
	}
}

func jsonNear(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && math.Abs(x-y) <= 1e-9*max(1, math.Abs(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonNear(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !jsonNear(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

func TestGroupIdentifyHandComputed(t *testing.T) {
	labels := GroupLabels{"p1": {"A"}, "p2": {"A"}, "p3": {"B"}}
	mk := func(truth string, s map[string]float64) GroupProbe {
		return GroupProbe{Probe: Probe{Truth: truth, Scores: s}}
	}
	probes := []GroupProbe{
		mk("p1", map[string]float64{"p1": 0.9, "p2": 0.3, "p3": 0.2}),  // hit; wrong 0.3
		mk("p1", map[string]float64{"p1": 0.4, "p2": 0.6, "p3": 0.1}),  // rank 2: miss; wrong 0.6
		mk("p2", map[string]float64{"p1": 0.2, "p2": 0.7, "p3": 0.55}), // hit; wrong 0.55
		mk("p3", map[string]float64{"p1": 0.1, "p2": 0.2, "p3": 0.45}), // rank 1 but below 0.5: miss
		mk("q", map[string]float64{"p1": 0.9}),                         // unlabelled
	}
	rep := GroupIdentify(probes, labels, FairnessOptions{Threshold: 0.5, MinPairs: 2, Thresholds: []float64{0.4}})
	if rep.Searches != 5 || rep.Mated != 5 || rep.NonMated != 0 || rep.UnlabelledSearches != 1 ||
		!reflect.DeepEqual(rep.UnlabelledIdentities, []string{"q"}) || rep.FPIRMethod != FPIRProxy {
		t.Errorf("header %+v", rep)
	}
	a, b := rep.Groups[0], rep.Groups[1]
	if a.Identities != 2 || a.Rank1.Count != 2 || a.Rank1.Total != 3 || a.FNIR.Count != 1 || a.FNIR.Total != 3 || a.FPIR.Count != 2 || a.FPIR.Total != 3 {
		t.Errorf("group A %+v", a)
	}
	if b.Rank1.Count != 1 || b.Rank1.Total != 1 || b.FNIR.Count != 1 || b.FPIR.Count != 0 || b.FPIR.Total != 1 {
		t.Errorf("group B %+v", b)
	}
	if want := []IdentPoint{{0.4, 1.0 / 3, 2.0 / 3}}; !reflect.DeepEqual(a.Points, want) {
		t.Errorf("group A points %+v, want %+v", a.Points, want)
	}
	if want := []IdentPoint{{0.4, 0, 0}}; !reflect.DeepEqual(b.Points, want) {
		t.Errorf("group B points %+v, want %+v", b.Points, want)
	}
	if sp := rep.FNIRSpread; !reflect.DeepEqual(sp.Groups, []string{"A"}) || !reflect.DeepEqual(sp.Insufficient, []string{"B"}) {
		t.Errorf("FNIR spread %+v", sp)
	}

	// With a real non-mated search the FPIR is measured on those only.
	probes = append(probes, GroupProbe{Probe: Probe{Scores: map[string]float64{"p1": 0.6, "p2": 0.1}}, Identity: "p3"})
	rep = GroupIdentify(probes, labels, FairnessOptions{Threshold: 0.5})
	if rep.FPIRMethod != FPIRNonMated || rep.NonMated != 1 {
		t.Errorf("method %q, non-mated %d", rep.FPIRMethod, rep.NonMated)
	}
	if a, b := rep.Groups[0], rep.Groups[1]; a.FPIR.Total != 0 || b.FPIR.Count != 1 || b.FPIR.Total != 1 || b.FNIR.Total != 1 {
		t.Errorf("non-mated FPIR: A %+v, B %+v", a.FPIR, b)
	}
}

func TestPlotFairness(t *testing.T) {
	pairs, labels := goldenPairs()
	rep := GroupFairness(pairs, labels, FairnessOptions{Threshold: 0.3326, MinPairs: 3})
	const w, h = 800, 500
	var buf bytes.Buffer
	if err := PlotFairness(&buf, rep, "", w, h); err != nil {
		t.Fatal(err)
	}
	if out := os.Getenv("EVAL_FAIRNESS_PNG"); out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("size %v, want %dx%d", b, w, h)
	}
	// Recompute the layout of PlotRates: the plot area and each bar's
	// columns, and look for the bar's colour (full or pale) in each.
	x0, x1 := 66, w-16
	n, k := len(rep.Groups), 2
	cw := float64(x1-x0-2) / float64(n)
	bw := max(int(math.Min(cw*0.8/float64(k), 64)), 1)
	for gi, g := range rep.Groups {
		left := int(math.Round(float64(x0+1)+cw*(float64(gi)+0.5))) - bw*k/2
		for si, r := range []Rate{g.FMR, g.FNMR} {
			if r.Total == 0 {
				continue // drawn as the text "n/a"
			}
			col := curveColors[si]
			if r.Total < rep.MinPairs {
				col = paleOf(col)
			}
			found := 0
			for y := 0; y < h; y++ {
				for x := left + si*bw; x < left+(si+1)*bw; x++ {
					cr, cg, cb, _ := img.At(x, y).RGBA()
					if uint8(cr>>8) == col.R && uint8(cg>>8) == col.G && uint8(cb>>8) == col.B {
						found++
					}
				}
			}
			if found < 2*bw {
				t.Errorf("group %s series %d (rate %g of %d): only %d pixels of its colour", g.Group, si, r.Rate, r.Total, found)
			}
		}
	}
	// The title (with the threshold) is drawn: dark pixels in the top rows.
	dark := 0
	for y := 0; y < 24; y++ {
		for x := 0; x < w; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r>>8 < 80 {
				dark++
			}
		}
	}
	if dark < 200 {
		t.Errorf("only %d dark pixels in the title rows", dark)
	}
}

func TestPlotRatesEdgeCases(t *testing.T) {
	var buf bytes.Buffer
	if err := PlotRates(&buf, BarChart{}, 100, 100); err == nil {
		t.Error("tiny plot accepted")
	}
	// Degenerate inputs draw without panicking, at the smallest size too.
	c := BarChart{
		Title:    "a very long title that will not fit in the smallest plot size at all, not at all",
		Groups:   []string{"zero", "none", "one", "a group with a very long name indeed", "short-series"},
		Series:   []RateSeries{{Rates: []Rate{NewRate(0, 10), {}, NewRate(1, 1), NewRate(1, 1e6)}}, {Name: "x", Rates: []Rate{NewRate(3, 5)}}},
		MinTotal: 5,
	}
	for _, sz := range [][2]int{{MinPlotWidth, MinPlotHeight}, {1600, 900}} {
		buf.Reset()
		if err := PlotRates(&buf, c, sz[0], sz[1]); err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(&buf); err != nil {
			t.Fatal(err)
		}
	}
	many := BarChart{Series: []RateSeries{{Name: "r"}}}
	for i := 0; i < 500; i++ {
		many.Groups = append(many.Groups, fmt.Sprint(i))
		many.Series[0].Rates = append(many.Series[0].Rates, NewRate(i%7, 10))
	}
	buf.Reset()
	if err := PlotRates(&buf, many, MinPlotWidth, MinPlotHeight); err != nil {
		t.Fatal(err)
	}
	ir := GroupIdentify(nil, GroupLabels{"a": {"g"}}, FairnessOptions{Threshold: 0.5})
	buf.Reset()
	if err := PlotIdentFairness(&buf, ir, "identify", 640, 480); err != nil {
		t.Fatal(err)
	}
	if err := PlotRates(failWriter{}, c, 640, 480); err == nil {
		t.Error("failing writer: no error")
	}
}
