package geom

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestIoU(t *testing.T) {
	tests := []struct {
		name string
		a, b Rect
		want float64
	}{
		{"identical", Rect{0, 0, 10, 10}, Rect{0, 0, 10, 10}, 1},
		{"disjoint", Rect{0, 0, 10, 10}, Rect{20, 20, 30, 30}, 0},
		{"touching", Rect{0, 0, 10, 10}, Rect{10, 0, 20, 10}, 0},
		{"half overlap", Rect{0, 0, 10, 10}, Rect{5, 0, 15, 10}, 50.0 / 150},
		{"contained", Rect{0, 0, 10, 10}, Rect{2, 2, 7, 7}, 25.0 / 100},
		{"empty", Rect{0, 0, 0, 0}, Rect{0, 0, 0, 0}, 0},
	}
	for _, tc := range tests {
		if got := IoU(tc.a, tc.b); !near(got, tc.want, 1e-12) {
			t.Errorf("%s: IoU = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNMS(t *testing.T) {
	boxes := []Scored{
		{Rect{0, 0, 10, 10}, 0.8},
		{Rect{1, 1, 11, 11}, 0.9},   // overlaps the first (IoU 81/119 = 0.68): wins
		{Rect{50, 50, 60, 60}, 0.7}, // separate face
		{Rect{5, 0, 15, 10}, 0.6},   // IoU 0.33 with the winner's neighbour; with the winner 45/155 = 0.29: kept
		{Rect{51, 50, 61, 60}, 0.1}, // suppressed by the separate face
	}
	got := NMS(boxes, 0.4)
	want := []float64{0.9, 0.7, 0.6}
	if len(got) != len(want) {
		t.Fatalf("NMS kept %d boxes (%v), want %d", len(got), got, len(want))
	}
	for i, w := range want {
		if got[i].Score != w {
			t.Errorf("box %d score %v, want %v", i, got[i].Score, w)
		}
	}
	if len(NMS(nil, 0.4)) != 0 {
		t.Error("NMS(nil) should be empty")
	}
}

func TestSimilarityRecoversKnownTransform(t *testing.T) {
	// Rotate by 30 degrees, scale 1.7, translate (12, -4).
	th := 30 * math.Pi / 180
	s := 1.7
	want := Affine{A: s * math.Cos(th), B: -s * math.Sin(th), C: 12, D: s * math.Sin(th), E: s * math.Cos(th), F: -4}
	src := []Point{{30, 50}, {70, 52}, {50, 70}, {35, 90}, {66, 91}}
	dst := make([]Point, len(src))
	for i, p := range src {
		dst[i] = want.Apply(p)
	}
	got, ok := Similarity(src, dst)
	if !ok {
		t.Fatal("Similarity failed")
	}
	for _, pair := range [][2]float64{{got.A, want.A}, {got.B, want.B}, {got.C, want.C}, {got.D, want.D}, {got.E, want.E}, {got.F, want.F}} {
		if !near(pair[0], pair[1], 1e-9) {
			t.Fatalf("Similarity = %+v, want %+v", got, want)
		}
	}
	if !near(got.Scale(), s, 1e-9) {
		t.Errorf("Scale = %v, want %v", got.Scale(), s)
	}
}

func TestSimilarityLeastSquares(t *testing.T) {
	// Two points map exactly; a symmetric perturbation of the others must average out to the same transform.
	src := []Point{{0, 0}, {10, 0}, {0, 10}, {10, 10}}
	dst := []Point{{1, 1}, {21, 1}, {1, 21}, {21, 21}} // scale 2, translate (1,1)
	dst[0].X -= 0.5
	dst[3].X += 0.5
	got, ok := Similarity(src, dst)
	if !ok {
		t.Fatal("Similarity failed")
	}
	if !near(got.Scale(), 2.025, 0.03) || !near(got.C, 0.75, 0.3) {
		t.Errorf("least squares fit off: %+v", got)
	}
	if _, ok := Similarity([]Point{{1, 1}, {1, 1}}, []Point{{0, 0}, {1, 1}}); ok {
		t.Error("degenerate source points should fail")
	}
	if _, ok := Similarity([]Point{{1, 1}}, []Point{{0, 0}}); ok {
		t.Error("one point should fail")
	}
}

func TestAffineInvertAndThen(t *testing.T) {
	a := Affine{A: 2, B: 0.5, C: 3, D: -0.25, E: 1.5, F: -7}
	inv, ok := a.Invert()
	if !ok {
		t.Fatal("invertible transform reported singular")
	}
	id := a.Then(inv)
	for _, p := range []Point{{0, 0}, {10, -3}, {-5.5, 8}} {
		q := id.Apply(p)
		if !near(q.X, p.X, 1e-9) || !near(q.Y, p.Y, 1e-9) {
			t.Errorf("a then inverse maps %v to %v", p, q)
		}
		r := inv.Apply(a.Apply(p))
		if !near(r.X, p.X, 1e-9) || !near(r.Y, p.Y, 1e-9) {
			t.Errorf("inverse(a(p)) = %v, want %v", r, p)
		}
	}
	if _, ok := (Affine{A: 1, B: 2, D: 2, E: 4}).Invert(); ok {
		t.Error("singular transform inverted")
	}
}

func TestTiles(t *testing.T) {
	// A 640x480 image fits the 320x240 detector at scale 0.5: a 40 px face is 20 detector px, enough.
	tiles := Tiles(640, 480, 320, 240, 40, 16)
	if len(tiles) != 1 || tiles[0].Scale != 0.5 {
		t.Fatalf("640x480: got %+v, want one whole-image tile at 0.5", tiles)
	}
	// 1920x1080: the whole image is seen at 1/6 (a 40 px face would be 6.7 px). A second level at 0.4 (16/40)
	// must cover the image with overlapping 800x600 windows.
	tiles = Tiles(1920, 1080, 320, 240, 40, 16)
	if len(tiles) < 2 {
		t.Fatalf("1920x1080: only %d tiles", len(tiles))
	}
	if !near(tiles[0].Scale, 1.0/6, 1e-12) {
		t.Errorf("first tile scale %v, want 1/6", tiles[0].Scale)
	}
	last := tiles[len(tiles)-1].Scale
	if !near(last*40, 16, 1e-9) {
		t.Errorf("finest level scale %v: a 40 px face is %v detector px, want 16", last, last*40)
	}
	// Every 40..100 px face anywhere in the image must lie wholly inside some window at a level where it is at
	// least 16 detector px high and at most 2.5*16*2 px (beyond that the coarser level sees it).
	for _, size := range []float64{40, 60, 100} {
		for y := 0.0; y+size <= 1080; y += 37 {
			for x := 0.0; x+size <= 1920; x += 41 {
				face := Rect{x, y, x + size, y + size}
				found := false
				for _, tl := range tiles {
					in := face.X1 >= tl.Src.X1 && face.Y1 >= tl.Src.Y1 && face.X2 <= tl.Src.X2 && face.Y2 <= tl.Src.Y2
					if in && size*tl.Scale >= 16-1e-9 {
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("a %v px face at (%v,%v) is in no window that sees it at >= 16 px", size, x, y)
				}
			}
		}
	}
	// Windows never exceed the detector's input once scaled.
	for _, tl := range tiles {
		if tl.Src.W()*tl.Scale > 320+1e-9 || tl.Src.H()*tl.Scale > 240+1e-9 {
			t.Errorf("tile %+v is larger than the detector input", tl)
		}
	}
	if Tiles(0, 10, 320, 240, 40, 16) != nil {
		t.Error("empty image should have no tiles")
	}
}

func TestTileCountMatchesTiles(t *testing.T) {
	for _, sz := range [][2]int{{640, 480}, {200, 160}, {1920, 1080}, {970, 2204}, {4000, 3000}} {
		for _, m := range []float64{4, 10, 13, 20, 33, 40, 120, 1000} {
			if got, want := TileCount(sz[0], sz[1], 320, 240, m, 20), len(Tiles(sz[0], sz[1], 320, 240, m, 20)); got != want {
				t.Errorf("%dx%d, min face %v: TileCount %d, len(Tiles) %d", sz[0], sz[1], m, got, want)
			}
		}
	}
	if n := TileCount(0, 480, 320, 240, 40, 20); n != 0 {
		t.Errorf("empty image: %d tiles", n)
	}
	// The attack of issue 12: min face 1 px. Counting it must be instant and must not overflow, however absurd.
	if n := TileCount(6240, 6240, 320, 240, 1, 20); n < 600_000 {
		t.Errorf("6240x6240 at min face 1: %d tiles, want the ~700,000 the plan really has", n)
	}
	if n := TileCount(6240, 6240, 320, 240, 1e-9, 20); n <= 0 {
		t.Errorf("a tiny min face counted %d tiles (overflow)", n)
	}
}
