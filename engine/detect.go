package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"

	"github.com/facegate/facegate/internal/geom"
)

// The detector is the RFB-320 single-shot detector: a 320x240 RGB input normalised as (p-127)/128, 4,420 prior
// boxes, and two outputs that already include the prior decoding: "scores" (background, face) after softmax and
// "boxes" as corners normalised to the input size.
const (
	detW, detH = 320, 240
	// detMinFace is the smallest face, in detector pixels, the detector finds reliably (its smallest prior is 10).
	detMinFace = 20.0
)

// The RFB-320 prior layout: feature maps at strides 8, 16, 32 and 64 over the 320x240 input, with 3, 2, 2 and 3
// anchor sizes per cell. The model decodes its priors itself; facegate uses the layout to check that a detector
// model has the outputs it expects.
var (
	rfbSteps       = []int{8, 16, 32, 64}
	rfbAnchorsPerC = []int{3, 2, 2, 3}
)

// rfbPriorCount is the number of prior boxes for a w x h input: sum over levels of ceil(w/step)*ceil(h/step)*anchors.
func rfbPriorCount(w, h int) int {
	n := 0
	for i, s := range rfbSteps {
		n += ((w + s - 1) / s) * ((h + s - 1) / s) * rfbAnchorsPerC[i]
	}
	return n
}

// checkDetector verifies a detector model's input and output shapes.
func checkDetector(in, scores, boxes []int64) error {
	want := int64(rfbPriorCount(detW, detH))
	if len(in) != 4 || in[1] != 3 || in[2] != detH || in[3] != detW {
		return fmt.Errorf("engine: detector input %v, want [1 3 %d %d]", in, detH, detW)
	}
	if len(scores) != 3 || scores[1] != want || scores[2] != 2 || len(boxes) != 3 || boxes[1] != want || boxes[2] != 4 {
		return fmt.Errorf("engine: detector outputs %v and %v, want [1 %d 2] and [1 %d 4]", scores, boxes, want, want)
	}
	return nil
}

// nmsIoU is the overlap above which two finds are the same face.
const nmsIoU = 0.4

type rawDet struct {
	rect  geom.Rect
	score float64
}

// detectLimits are what detect looks for and how much work it may do.
type detectLimits struct {
	minFace, thresh float64
	// maxRuns bounds the tiling plan's windows (the caller chose minFace so that it fits) and, separately, the
	// confirmation looks; maxFaces is how many faces the caller keeps.
	maxRuns, maxFaces int
	// crowd confirms tiles' finds with crowdConfirm instead of confirm (ProfileCrowd).
	crowd bool
	// sweep, when not nil, picks the fine windows this frame searches.
	sweep *Sweep
}

// detectStats is what detect did: its detector runs, and the tile candidates it did not confirm because
// enough larger faces were found or the confirmation budget was spent.
type detectStats struct {
	runs, unconfirmed int
}

// detect finds faces in the whole image, tiling it when faces down to lim.minFace pixels need a closer look.
// Tiles run in parallel, one per core. ctx is checked before every detector run.
func (e *Engine) detect(ctx context.Context, p *pyramid, lim detectLimits) ([]rawDet, detectStats, error) {
	var st detectStats
	img := p.base()
	tiles := geom.Tiles(img.W, img.H, detW, detH, lim.minFace, detMinFace)
	var focus []geom.Rect // the previous frames' faces, under a sweep
	if lim.sweep != nil {
		focus = lim.sweep.rects()
		tiles = lim.sweep.tiles(tiles, focus)
	}
	finds := make([][]geom.Scored, len(tiles))
	errs := make([]error, len(tiles))
	next := make(chan int, len(tiles))
	for i := range tiles {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for w := 0; w < min(len(tiles), runtime.NumCPU()); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := make([]float32, 3*detW*detH)
			for ti := range next {
				if ctx.Err() != nil {
					return
				}
				thresh := lim.thresh
				if ti > 0 && lim.crowd {
					thresh = math.Min(thresh, crowdCandidateThreshold)
				}
				finds[ti], errs[ti] = e.detectTile(p, tiles[ti], ti > 0, thresh, in)
			}
		}()
	}
	wg.Wait()
	st.runs = len(tiles)
	if err := ctx.Err(); err != nil {
		return nil, st, fmt.Errorf("engine: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, st, err
	}
	var all, fine []geom.Scored // whole-image finds, and finds from closer-looking tiles
	all = finds[0]
	for _, f := range finds[1:] {
		fine = append(fine, f...)
	}
	in := make([]float32, 3*detW*detH)
	all = geom.NMS(all, nmsIoU)
	coarse := len(all)
	var candidates []geom.Scored
	for i, f := range geom.NMS(fine, nmsIoU) {
		if i%1024 == 0 && ctx.Err() != nil {
			return nil, st, fmt.Errorf("engine: %w", ctx.Err())
		}
		// A tile's find that lies mostly inside a whole-image find is part of that face seen without its context.
		inside := false
		for _, c := range all[:coarse] {
			if f.Rect.Intersect(c.Rect).Area() > 0.5*f.Rect.Area() {
				inside = true
				break
			}
		}
		if !inside {
			candidates = append(candidates, f)
		}
	}
	// Tiles look closer than the whole-image pass and see more texture that can pass for a face (hair,
	// patterned cloth): confirm each remaining find with second looks at canonical scales. Largest first, and
	// only while a candidate could still be among the maxFaces largest faces and the budget lasts.
	sort.SliceStable(candidates, func(i, j int) bool { return candidates[i].Rect.Area() > candidates[j].Rect.Area() })
	confirmRuns := 0
	for ci, f := range candidates {
		looks := confirmFaces
		var cc crowdCheck
		if lim.crowd {
			cc = crowdChecks(f.Rect.H())
			looks = cc.looks
		}
		if largerFaces(all, coarse, f.Rect.Area()) >= lim.maxFaces || confirmRuns+len(looks) > lim.maxRuns {
			st.unconfirmed = len(candidates) - ci
			break
		}
		var (
			ok   bool
			vs   float64
			runs int
			err  error
		)
		if known(focus, f.Rect) {
			// The previous frame had this face: that frame's confirmation stands.
			ok, vs = f.Score >= lim.thresh, f.Score
		} else if lim.crowd {
			ok, vs, runs, err = e.crowdConfirm(ctx, p, f, cc, lim.thresh, in)
		} else {
			ok, vs, runs, err = e.confirm(ctx, p, f.Rect, looks, math.Max(lim.thresh, confirmThreshold), in)
			vs = math.Min(f.Score, vs)
		}
		confirmRuns += runs
		st.runs += runs
		if err != nil {
			return nil, st, err
		}
		if ok {
			all = append(all, geom.Scored{Rect: f.Rect, Score: vs})
		}
	}
	kept := geom.NMS(all, nmsIoU)
	res := make([]rawDet, 0, len(kept))
	for _, k := range kept {
		r := k.Rect
		r.X1, r.Y1 = math.Max(r.X1, 0), math.Max(r.Y1, 0)
		r.X2, r.Y2 = math.Min(r.X2, float64(img.W)), math.Min(r.Y2, float64(img.H))
		if r.W() < 2 || r.H() < 2 {
			continue
		}
		res = append(res, rawDet{rect: r, score: k.Score})
	}
	return res, st, nil
}

// largerFaces counts the faces in all at least area large: the whole-image finds (the first coarse) by their
// area, and every confirmed candidate after them, which were confirmed largest first.
func largerFaces(all []geom.Scored, coarse int, area float64) int {
	n := len(all) - coarse
	for _, c := range all[:coarse] {
		if c.Rect.Area() >= area {
			n++
		}
	}
	return n
}

// detectTile runs the detector on one tile and returns its finds in image coordinates.
func (e *Engine) detectTile(p *pyramid, t geom.Tile, inner bool, thresh float64, in []float32) ([]geom.Scored, error) {
	img := p.base()
	// Destination pixel u maps to source x = u/scale + X1 (letterboxed: content at the top left, the rest
	// filled with grey, which normalises to zero).
	inv := geom.Affine{A: 1 / t.Scale, C: t.Src.X1 + 0.5/t.Scale - 0.5, E: 1 / t.Scale, F: t.Src.Y1 + 0.5/t.Scale - 0.5}
	e.fillDetector(p, in, inv, t.Src.W()*t.Scale, t.Src.H()*t.Scale)
	d, err := e.runDetector(in, t.Scale, t.Src.X1, t.Src.Y1)
	if err != nil {
		return nil, err
	}
	var finds []geom.Scored
	for i := range d.n() {
		s := d.score(i)
		if s < thresh {
			continue
		}
		r := d.rect(i)
		if r.W() <= 1 || r.H() <= 1 {
			continue
		}
		if inner && cutByTile(r, t.Src, float64(img.W), float64(img.H)) {
			// A face cut by an inner tile edge is seen whole by a neighbouring tile.
			continue
		}
		if inner && r.H()*t.Coarser >= 2*detMinFace {
			// Big enough for the coarser level, which sees it with its whole context.
			continue
		}
		finds = append(finds, geom.Scored{Rect: r, Score: s})
	}
	// Overlapping priors find each face several times: suppress them here, in the tile's worker, so the global
	// suppression sees each face about once per tile that sees it.
	return geom.NMS(finds, nmsIoU), nil
}

// cutByTile reports whether r crosses an edge of tile that is not also an edge of the image.
func cutByTile(r, tile geom.Rect, w, h float64) bool {
	const m = 2
	return (tile.X1 > 0 && r.X1 < tile.X1+m) || (tile.Y1 > 0 && r.Y1 < tile.Y1+m) ||
		(tile.X2 < w && r.X2 > tile.X2-m) || (tile.Y2 < h && r.Y2 > tile.Y2-m)
}

// fillDetector writes the letterboxed detector input: content of contentW x contentH detector pixels sampled
// through inv, grey (zero after normalisation) elsewhere.
func (e *Engine) fillDetector(p *pyramid, in []float32, inv geom.Affine, contentW, contentH float64) {
	cw := int(math.Ceil(contentW))
	ch := int(math.Ceil(contentH))
	if cw > detW {
		cw = detW
	}
	if ch > detH {
		ch = detH
	}
	l := layout{mean: [3]float32{127, 127, 127}, mul: [3]float32{1. / 128, 1. / 128, 1. / 128}, fill: [3]float32{127, 127, 127}}
	if cw == detW && ch == detH {
		p.warp(in, detW, detH, inv, l)
		return
	}
	for i := range in {
		in[i] = 0
	}
	tmp := make([]float32, 3*cw*ch)
	p.warp(tmp, cw, ch, inv, l)
	for c := 0; c < 3; c++ {
		for y := 0; y < ch; y++ {
			copy(in[c*detW*detH+y*detW:c*detW*detH+y*detW+cw], tmp[c*cw*ch+y*cw:c*cw*ch+(y+1)*cw])
		}
	}
}

// confirmFaces are the face heights, in detector pixels, at which a tile's candidate face is looked at again. A
// real face scores high at all of them; texture that passes for a face at one scale (hair, folds of cloth) does not.
var confirmFaces = []float64{32, 56, 80}

// confirmThreshold is the least score every second look must give a candidate from a tile.
const confirmThreshold = 0.8

// confirm re-runs the detector on windows centred on candidate r, scaled so the face is each of looks detector
// pixels high, and reports whether the detector finds it again (IoU > 0.5) with at least thresh every
// time, the lowest of those scores, and the detector runs it made (it stops at the first miss, and before any run
// once ctx is done). buf is a scratch detector input.
func (e *Engine) confirm(ctx context.Context, p *pyramid, r geom.Rect, looks []float64, thresh float64, buf []float32) (ok bool, score float64, runs int, err error) {
	low := 1.0
	for _, face := range looks {
		runs++
		best, err := e.look(ctx, p, r, face, thresh, buf)
		if err != nil {
			return false, 0, runs, err
		}
		if best == 0 {
			return false, 0, runs, nil
		}
		low = math.Min(low, best)
	}
	return true, low, runs, nil
}

// crowdConfirm is the crowd profile's confirmation of tile find f (crowdChecks): it looks at f again at each of
// c's looks and keeps it when the mean of f's score and the looks' scores reaches c's bar (raised for a stricter
// threshold thresh) and, when c has a check, the check look scores crowdCheckThreshold. It reports the mean and
// the detector runs it made, and stops as soon as the outcome is settled.
func (e *Engine) crowdConfirm(ctx context.Context, p *pyramid, f geom.Scored, c crowdCheck, thresh float64, buf []float32) (ok bool, mean float64, runs int, err error) {
	bar := crowdBar(c.bar, thresh)
	n := float64(len(c.looks) + 1)
	sum := f.Score
	for i, face := range c.looks {
		if sum+float64(len(c.looks)-i) < bar*n {
			return false, 0, runs, nil
		}
		runs++
		s, err := e.look(ctx, p, f.Rect, face, 0, buf)
		if err != nil {
			return false, 0, runs, err
		}
		sum += s
	}
	if mean = sum / n; mean < bar {
		return false, mean, runs, nil
	}
	if c.check > 0 {
		runs++
		s, err := e.look(ctx, p, f.Rect, c.check, 0, buf)
		if err != nil || s < crowdCheckThreshold {
			return false, mean, runs, err
		}
	}
	return true, mean, runs, nil
}

// look runs the detector once on a window centred on candidate r, scaled so the face is face detector pixels
// high, and returns the best score above thresh of a find that overlaps r at IoU > 0.5 (0 when there is none).
func (e *Engine) look(ctx context.Context, p *pyramid, r geom.Rect, face, thresh float64, buf []float32) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("engine: %w", err)
	}
	scale := face / r.H()
	c := r.Center()
	src := geom.Rect{X1: c.X - detW/2/scale, Y1: c.Y - detH/2/scale, X2: c.X + detW/2/scale, Y2: c.Y + detH/2/scale}
	inv := geom.Affine{A: 1 / scale, C: src.X1 + 0.5/scale - 0.5, E: 1 / scale, F: src.Y1 + 0.5/scale - 0.5}
	e.fillDetector(p, buf, inv, detW, detH)
	d, err := e.runDetector(buf, scale, src.X1, src.Y1)
	if err != nil {
		return 0, err
	}
	best := 0.0
	for i := range d.n() {
		if s := d.score(i); s >= thresh && s > best && geom.IoU(d.rect(i), r) > 0.5 {
			best = s
		}
	}
	return best, nil
}

// detection is one detector run's outputs for a window whose top left is image point (x0, y0), scaled by scale.
type detection struct {
	scores, boxes []float32
	scale, x0, y0 float64
}

// runDetector runs the detector on input in, the window at (x0, y0) scaled by scale.
func (e *Engine) runDetector(in []float32, scale, x0, y0 float64) (detection, error) {
	out, err := e.det.Run(in)
	if err != nil {
		return detection{}, fmt.Errorf("engine: detector: %w", err)
	}
	d := detection{scores: out[0], boxes: out[1], scale: scale, x0: x0, y0: y0}
	if e.det.Outputs[0].Name != "scores" {
		d.scores, d.boxes = out[1], out[0]
	}
	return d, nil
}

// n is the number of prior boxes.
func (d detection) n() int { return len(d.scores) / 2 }

// score is prior i's face score.
func (d detection) score(i int) float64 { return float64(d.scores[2*i+1]) }

// rect is prior i's box in image coordinates.
func (d detection) rect(i int) geom.Rect {
	b := d.boxes[4*i : 4*i+4]
	return geom.Rect{
		X1: float64(b[0])*detW/d.scale + d.x0, Y1: float64(b[1])*detH/d.scale + d.y0,
		X2: float64(b[2])*detW/d.scale + d.x0, Y2: float64(b[3])*detH/d.scale + d.y0,
	}
}
