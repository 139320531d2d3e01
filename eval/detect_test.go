package eval

import (
	"bytes"
	"image/png"
	"math"
	"testing"
	"time"
)

// TestMatchImageNearFace: a false positive on a labelled face (IoU 0.3 to 0.5: misplaced, mis-sized or a
// duplicate) is told apart from one where there is no face.
func TestMatchImageNearFace(t *testing.T) {
	a := BoxXYWH{0, 0, 10, 10}
	for _, tc := range []struct {
		name string
		det  BoxXYWH
		near bool
	}{
		{"too large, IoU 0.44", BoxXYWH{-2, -2, 15, 15}, true},
		{"shifted, IoU 0.33", BoxXYWH{5, 0, 10, 10}, true},
		{"shifted further, IoU 0.18", BoxXYWH{7, 0, 10, 10}, false},
		{"no face there", BoxXYWH{50, 50, 10, 10}, false},
	} {
		m := MatchImage([]TruthBox{{Box: a}}, []Detection{{tc.det, 0.9}}, MatchIoU)
		if o := m.Outcomes[0]; o.TP || o.NearFace != tc.near {
			t.Errorf("%s (IoU %.2f): %+v, want a false positive with NearFace %v", tc.name, tc.det.IoU(a), o, tc.near)
		}
	}
	// A duplicate on a face already taken is near it too.
	m := MatchImage([]TruthBox{{Box: a}}, []Detection{{a, 0.9}, {a, 0.8}}, MatchIoU)
	if !m.Outcomes[1].NearFace || m.Outcomes[0].NearFace {
		t.Errorf("duplicate: %+v", m.Outcomes)
	}
}

func TestBoxIoU(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b BoxXYWH
		want float64
	}{
		{"same", BoxXYWH{0, 0, 10, 10}, BoxXYWH{0, 0, 10, 10}, 1},
		{"half shifted", BoxXYWH{0, 0, 10, 10}, BoxXYWH{5, 0, 10, 10}, 50.0 / 150},
		{"inside", BoxXYWH{0, 0, 10, 10}, BoxXYWH{0, 0, 5, 10}, 0.5},
		{"touching", BoxXYWH{0, 0, 10, 10}, BoxXYWH{10, 0, 10, 10}, 0},
		{"apart", BoxXYWH{0, 0, 10, 10}, BoxXYWH{30, 30, 5, 5}, 0},
		{"empty", BoxXYWH{0, 0, 0, 10}, BoxXYWH{0, 0, 0, 10}, 0},
	} {
		if got := tc.a.IoU(tc.b); math.Abs(got-tc.want) > 1e-12 || got != tc.b.IoU(tc.a) {
			t.Errorf("%s: IoU %v, want %v (both ways)", tc.name, got, tc.want)
		}
	}
}

func TestMatchImage(t *testing.T) {
	a := BoxXYWH{0, 0, 10, 10}
	b := BoxXYWH{100, 100, 20, 20}
	near := func(x BoxXYWH, dx float64) BoxXYWH { x.X += dx; return x }
	for _, tc := range []struct {
		name      string
		truth     []TruthBox
		dets      []Detection
		wantFound []bool
		wantTP    []bool // in descending score order
		wantIgn   []bool
	}{
		{"one hit one miss", []TruthBox{{Box: a}, {Box: b}}, []Detection{{a, 0.9}},
			[]bool{true, false}, []bool{true}, []bool{false}},
		{"duplicate is a false positive", []TruthBox{{Box: a}}, []Detection{{near(a, 1), 0.8}, {a, 0.9}},
			[]bool{true}, []bool{true, false}, []bool{false, false}},
		{"higher score wins the face, even at lower IoU", []TruthBox{{Box: a}}, []Detection{{a, 0.5}, {near(a, 2), 0.95}},
			[]bool{true}, []bool{true, false}, []bool{false, false}},
		{"below IoU 0.5 is a false positive", []TruthBox{{Box: a}}, []Detection{{near(a, 4), 0.9}}, // IoU 60/140
			[]bool{false}, []bool{false}, []bool{false}},
		{"exactly 0.5 matches", []TruthBox{{Box: BoxXYWH{0, 0, 10, 10}}}, []Detection{{BoxXYWH{0, 0, 5, 10}, 0.9}},
			[]bool{true}, []bool{true}, []bool{false}},
		{"on an ignored face: neither", []TruthBox{{Box: a, Ignore: true}}, []Detection{{a, 0.9}},
			[]bool{false}, []bool{false}, []bool{true}},
		{"each detection takes its best free face", []TruthBox{{Box: a}, {Box: near(a, 3)}},
			[]Detection{{near(a, 3), 0.9}, {a, 0.8}}, []bool{true, true}, []bool{true, true}, []bool{false, false}},
		{"no detections", []TruthBox{{Box: a}}, nil, []bool{false}, []bool{}, []bool{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := MatchImage(tc.truth, tc.dets, MatchIoU)
			for i, f := range tc.wantFound {
				if m.TruthFound[i] != f {
					t.Errorf("face %d found %v, want %v", i, m.TruthFound[i], f)
				}
			}
			if len(m.Outcomes) != len(tc.wantTP) {
				t.Fatalf("%d outcomes, want %d", len(m.Outcomes), len(tc.wantTP))
			}
			for i, o := range m.Outcomes {
				if o.TP != tc.wantTP[i] || o.Ignored != tc.wantIgn[i] {
					t.Errorf("outcome %d (score %v): TP %v ignored %v, want %v %v", i, o.Score, o.TP, o.Ignored, tc.wantTP[i], tc.wantIgn[i])
				}
			}
		})
	}
}

// box of height h at x.
func hbox(x, h float64) BoxXYWH { return BoxXYWH{x, 0, h * 0.8, h} }

func TestSummarizeDetection(t *testing.T) {
	ms := time.Millisecond
	res := []DetImageResult{
		{Path: "1", Elapsed: 100 * ms,
			Truth: []TruthBox{{Box: hbox(0, 10)}, {Box: hbox(100, 14)}, {Box: hbox(200, 100)}, {Box: hbox(400, 30), Ignore: true}},
			Dets: []Detection{{hbox(200, 100), 0.9}, {hbox(600, 50), 0.8}, {hbox(100, 14), 0.7},
				{hbox(400, 30), 0.95}}}, // on the ignored face
		{Path: "2", Elapsed: 300 * ms,
			Truth: []TruthBox{{Box: hbox(0, 20)}},
			Dets:  []Detection{{hbox(0, 20), 0.6}, {hbox(300, 20), 0.5}}},
		{Path: "3", Elapsed: 200 * ms},
	}
	s := SummarizeDetection(res, MatchIoU)
	// Ranked: .9 TP, .8 FP, .7 TP, .6 TP, .5 FP over 4 faces.
	// PR: (1/4,1) (1/4,1/2) (2/4,2/3) (3/4,3/4) (3/4,3/5); interpolated AP = 1/4*1 + 1/4*3/4 + 1/4*3/4 = 0.625.
	want := DetectSummary{Images: 3, Faces: 4, IgnoredFaces: 1, Detections: 5, TruePositives: 3, FalsePositives: 2,
		Recall: 0.75, Precision: 0.6, AP: 0.625, MeanSeconds: 0.2, P95Seconds: 0.3}
	got := s
	got.ByHeight, got.Curve = nil, nil
	const eps = 1e-9
	if got.Images != want.Images || got.Faces != want.Faces || got.IgnoredFaces != want.IgnoredFaces ||
		got.Detections != want.Detections || got.TruePositives != want.TruePositives || got.FalsePositives != want.FalsePositives ||
		math.Abs(got.Recall-want.Recall) > eps || math.Abs(got.Precision-want.Precision) > eps || math.Abs(got.AP-want.AP) > eps ||
		math.Abs(got.MeanSeconds-want.MeanSeconds) > eps || math.Abs(got.P95Seconds-want.P95Seconds) > eps {
		t.Errorf("summary\n got %+v\nwant %+v", got, want)
	}
	wantBuckets := []BucketRecall{{"<12", 1, 0, 0}, {"12-16", 1, 1, 1}, {"16-24", 1, 1, 1}, {"24-40", 0, 0, 0},
		{"40-80", 0, 0, 0}, {">80", 1, 1, 1}}
	faces := 0
	for i, b := range s.ByHeight {
		faces += b.Faces
		if b != wantBuckets[i] {
			t.Errorf("bucket %d: %+v, want %+v", i, b, wantBuckets[i])
		}
	}
	if faces != s.Faces {
		t.Errorf("buckets hold %d faces, the summary %d", faces, s.Faces)
	}
	if s.FalsePositivesNearFace != 0 {
		t.Errorf("%d false positives near a face, want 0 (both are far from every face)", s.FalsePositivesNearFace)
	}
	if len(s.Curve) != 5 || s.Curve[4].Recall != 0.75 || s.Curve[4].Precision != 0.6 {
		t.Errorf("curve %+v", s.Curve)
	}
}

func TestAveragePrecision(t *testing.T) {
	for _, tc := range []struct {
		name  string
		out   []Outcome
		faces int
		want  float64
	}{
		{"perfect", []Outcome{{Score: 0.9, TP: true, Ignored: false}, {Score: 0.8, TP: true, Ignored: false}}, 2, 1},
		{"half found", []Outcome{{Score: 0.9, TP: true, Ignored: false}}, 2, 0.5},
		{"false first", []Outcome{{Score: 0.9, TP: false, Ignored: false}, {Score: 0.8, TP: true, Ignored: false}}, 1, 0.5},
		// The tie at 0.9 forms one point (recall 1/2, precision 1/2), then (1, 2/3); interpolation lifts the first
		// point to 2/3. Were the tie split, the true positive first would give 0.5*1 + 0.5*2/3.
		{"tie", []Outcome{{Score: 0.9, TP: false, Ignored: false}, {Score: 0.9, TP: true, Ignored: false}, {Score: 0.5, TP: true, Ignored: false}}, 2, 2.0 / 3},
		{"interpolated", []Outcome{{Score: 0.9, TP: true, Ignored: false}, {Score: 0.8, TP: false, Ignored: false}, {Score: 0.7, TP: true, Ignored: false}, {Score: 0.6, TP: true, Ignored: false}}, 4, 0.25 + 0.5*0.75},
		{"nothing", nil, 3, 0},
		{"no faces", []Outcome{{Score: 0.9, TP: false, Ignored: false}}, 0, 0},
	} {
		if got := averagePrecision(prCurve(tc.out, tc.faces)); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: AP %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBucketNames(t *testing.T) {
	want := []string{"<12", "12-16", "16-24", "24-40", "40-80", ">80"}
	for i, w := range want {
		if got := BucketName(i); got != w {
			t.Errorf("bucket %d: %q, want %q", i, got, w)
		}
	}
	for h, b := range map[float64]int{0: 0, 11.99: 0, 12: 1, 15.9: 1, 16: 2, 39: 3, 40: 4, 79.9: 4, 80: 5, 4000: 5} {
		if got := bucketOf(h); got != b {
			t.Errorf("height %v in bucket %d, want %d", h, got, b)
		}
	}
}

func TestPlotPR(t *testing.T) {
	var buf bytes.Buffer
	pts := []PRPoint{{0.9, 0.25, 1}, {0.8, 0.5, 0.8}, {0.5, 0.75, 0.6}}
	if err := PlotPR(&buf, "PR", pts, 640, 480); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 480 {
		t.Fatalf("png %v %v", img.Bounds(), err)
	}
	// The curve's colour is on the plot (the first point, recall 0.25 at precision 1, sits near the top).
	blue := 0
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 == 31 && g>>8 == 119 && b>>8 == 180 {
				blue++
			}
		}
	}
	if blue < 200 {
		t.Errorf("%d curve pixels, want a drawn curve", blue)
	}
	if err := PlotPR(&buf, "", nil, 10, 10); err == nil {
		t.Error("a 10x10 plot was accepted")
	}
}
