package geom

import (
	"math"
	"sort"
)

// NMS performs greedy non-maximum suppression: it keeps the highest-scoring box, drops every remaining box whose
// IoU with it exceeds thresh, and repeats. The result is sorted by descending score; ties keep input order.
//
// A box is dropped only by a kept box, so each box in score order is compared only with the kept boxes that can
// overlap it: kept boxes are filed in a grid per size class (cells twice their largest side, so a box lies in at
// most four cells), and a class whose boxes are too small to reach IoU thresh with the box is skipped. Crowds of
// tens of thousands of boxes take milliseconds instead of the seconds of comparing every pair.
func NMS(boxes []Scored, thresh float64) []Scored {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return boxes[order[a]].Score > boxes[order[b]].Score })
	var keep []Scored
	if thresh < 0 {
		// Every pair, even disjoint, has IoU 0 > thresh: only the best box stays.
		if len(order) > 0 {
			keep = append(keep, boxes[order[0]])
		}
		return keep
	}
	g := nmsGrid{classes: map[int]*nmsClass{}}
	for _, oi := range order {
		b := boxes[oi]
		if g.suppressed(b.Rect, keep, thresh) {
			continue
		}
		g.add(b.Rect, len(keep))
		keep = append(keep, b)
	}
	return keep
}

// nmsGrid files the kept boxes of NMS by size class.
type nmsGrid struct {
	classes map[int]*nmsClass
	order   []int // the size classes present, ascending
}

// nmsClass holds the kept boxes whose largest side is in [cell/2, cell): each lies in at most 2x2 cells.
type nmsClass struct {
	cell  float64
	cells map[[2]int64][]int
	all   []int
}

// cellLimit bounds cell indices so that far-off (or huge) coordinates cannot overflow; clamping is monotonic, so
// boxes that overlap still share a cell.
const cellLimit = 1 << 40

func cellIndex(v, cell float64) int64 {
	return int64(math.Max(-cellLimit, math.Min(cellLimit, math.Floor(v/cell))))
}

// sizeClass is the class of a box with a positive finite area: its largest side L lies in [2^(k-1), 2^k).
func sizeClass(r Rect) (k int, ok bool) {
	if !(r.Area() > 0) || math.IsInf(r.Area(), 0) {
		return 0, false // empty, NaN or infinite: IoU 0 with every box, so it neither suppresses nor is suppressed
	}
	_, k = math.Frexp(math.Max(r.W(), r.H()))
	return k, true
}

func (g *nmsGrid) add(r Rect, idx int) {
	k, ok := sizeClass(r)
	if !ok {
		return
	}
	c := g.classes[k]
	if c == nil {
		c = &nmsClass{cell: math.Ldexp(1, k), cells: map[[2]int64][]int{}}
		g.classes[k] = c
		i := sort.SearchInts(g.order, k)
		g.order = append(g.order, 0)
		copy(g.order[i+1:], g.order[i:])
		g.order[i] = k
	}
	c.all = append(c.all, idx)
	for y := cellIndex(r.Y1, c.cell); y <= cellIndex(r.Y2, c.cell); y++ {
		for x := cellIndex(r.X1, c.cell); x <= cellIndex(r.X2, c.cell); x++ {
			c.cells[[2]int64{x, y}] = append(c.cells[[2]int64{x, y}], idx)
		}
	}
}

// suppressed reports whether a kept box has IoU above thresh with r.
func (g *nmsGrid) suppressed(r Rect, keep []Scored, thresh float64) bool {
	if _, ok := sizeClass(r); !ok {
		return false
	}
	area := r.Area()
	for _, k := range g.order {
		c := g.classes[k]
		// A kept box b with IoU(r, b) > thresh has area(b) > thresh*area(r); this class's boxes are under cell².
		if c.cell*c.cell <= thresh*area {
			continue
		}
		x1, x2 := cellIndex(r.X1, c.cell), cellIndex(r.X2, c.cell)
		y1, y2 := cellIndex(r.Y1, c.cell), cellIndex(r.Y2, c.cell)
		if float64(x2-x1+1)*float64(y2-y1+1) > float64(len(c.all)) {
			// r spans more cells than the class has boxes: compare with them directly.
			for _, i := range c.all {
				if IoU(r, keep[i].Rect) > thresh {
					return true
				}
			}
			continue
		}
		for y := y1; y <= y2; y++ {
			for x := x1; x <= x2; x++ {
				for _, i := range c.cells[[2]int64{x, y}] {
					if IoU(r, keep[i].Rect) > thresh {
						return true
					}
				}
			}
		}
	}
	return false
}
