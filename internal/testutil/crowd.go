package testutil

import (
	"image"
	"testing"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	xdraw "golang.org/x/image/draw"
)

// PackedCrowd is a side x side mosaic of the real faces of a group photo (sample5's five, found by e), each
// cropped with a little margin and scaled so that the face is about face px high, packed edge to edge: thousands
// of real faces, like the synthetic crowd of the red-team review (6300x6300, 60 px faces).
func PackedCrowd(t testing.TB, e *engine.Engine, side, face int) *imgio.Image {
	t.Helper()
	group, _, err := imgio.DecodeFile(NPMImage(t, "sample5.jpg"), imgio.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	found, err := e.Analyze(t.Context(), group, engine.Options{})
	if err != nil || len(found) == 0 {
		t.Fatalf("testutil: finding sample5's faces: %d faces, %v", len(found), err)
	}
	src := group.ToStd()
	cell := face * 4 / 3
	var heads []*imgio.Image
	for _, f := range found {
		cx, cy, r := (f.Box.X1+f.Box.X2)/2, (f.Box.Y1+f.Box.Y2)/2, f.Box.H()*2/3
		box := image.Rect(int(cx-r), int(cy-r), int(cx+r), int(cy+r)).Intersect(src.Bounds())
		dst := image.NewRGBA(image.Rect(0, 0, cell, cell))
		xdraw.BiLinear.Scale(dst, dst.Rect, src, box, xdraw.Src, nil)
		heads = append(heads, imgio.FromStd(dst))
	}
	out := imgio.NewImage(side, side)
	for gy := 0; gy*cell < side; gy++ {
		for gx := 0; gx*cell < side; gx++ {
			h := heads[(gy*7+gx)%len(heads)]
			w := min(cell, side-gx*cell)
			for y := 0; y < cell && gy*cell+y < side; y++ {
				row := ((gy*cell+y)*side + gx*cell) * 3
				copy(out.Pix[row:row+w*3], h.Pix[y*cell*3:(y*cell+w)*3])
			}
		}
	}
	return out
}
