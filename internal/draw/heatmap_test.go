package draw

import (
	"image/color"
	"testing"

	"github.com/facegate/facegate"
)

func TestHeatmapImage(t *testing.T) {
	h := facegate.NewHeatmap()
	empty := Heatmap(h, 4)
	if b := empty.Bounds(); b.Dx() != 128 || b.Dy() != 72 {
		t.Fatalf("size %v, want 128x72", b)
	}
	if c := empty.RGBAAt(60, 40); c != heatRamp[0] {
		t.Errorf("an empty map's cell is %v, want %v", c, heatRamp[0])
	}
	h.Cells[0] = 10       // top-left: the fullest
	h.Cells[17*32+31] = 5 // bottom-right: half
	for _, tc := range []struct {
		x, y int
		want color.RGBA
	}{
		{1, 1, heatRamp[len(heatRamp)-1]},
		{3, 3, heatRamp[len(heatRamp)-1]}, // the whole 4×4 cell
		{4, 0, heatRamp[0]},               // the next cell is empty
		{31*4 + 2, 17*4 + 2, rampAt(0.5)},
	} {
		if c := Heatmap(h, 4).RGBAAt(tc.x, tc.y); c != tc.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", tc.x, tc.y, c, tc.want)
		}
	}
	// The ramp's middle lies between its 3rd and 4th colours (cyan and green).
	if m := rampAt(0.5); m.G < 190 || m.R > 40 {
		t.Errorf("ramp middle %v, want between cyan and green", m)
	}
}
