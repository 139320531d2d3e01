package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/geom"
)

// contextCrop is the square-ish region of scale times the box around its centre, shrunk so that it fits in the
// image and then shifted inside it, as the attribute models were fed.
func contextCrop(box geom.Rect, scale float64, w, h int) geom.Rect {
	bw, bh := box.W(), box.H()
	s := math.Min(scale, math.Min(float64(h-1)/bh, float64(w-1)/bw))
	c := box.Center()
	nw, nh := bw*s, bh*s
	r := geom.Rect{X1: c.X - nw/2, Y1: c.Y - nh/2, X2: c.X + nw/2, Y2: c.Y + nh/2}
	if r.X1 < 0 {
		r.X2 -= r.X1
		r.X1 = 0
	}
	if r.Y1 < 0 {
		r.Y2 -= r.Y1
		r.Y1 = 0
	}
	if r.X2 > float64(w-1) {
		r.X1 -= r.X2 - float64(w-1)
		r.X2 = float64(w - 1)
	}
	if r.Y2 > float64(h-1) {
		r.Y1 -= r.Y2 - float64(h-1)
		r.Y2 = float64(h - 1)
	}
	return r
}

// Liveness decision threshold on the live probability.
const livenessThreshold = 0.5

func (e *Engine) attributes(ctx context.Context, p *pyramid, box geom.Rect, want []Attribute) (*facegate.Attributes, error) {
	img := p.base()
	a := &facegate.Attributes{}
	for _, at := range want {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		switch at {
		case AttrAge, AttrGender:
			name := ModelAge
			if at == AttrGender {
				name = ModelGender
			}
			m, err := e.optional(name)
			if err != nil {
				return nil, err
			}
			in := make([]float32, 3*64*64)
			p.warp(in, 64, 64, cropTransform(contextCrop(box, 1.4, img.W, img.H), 64, 64), imagenetLayout)
			out, err := m.Run(in)
			if err != nil {
				return nil, fmt.Errorf("engine: %s: %w", at, err)
			}
			v := ssrMerge(m, out)
			if at == AttrAge {
				age := float32(v * 101)
				a.Age = &age
			} else {
				g := float32(math.Max(0, math.Min(1, v)))
				a.Gender = "male"
				if g < 0.5 {
					a.Gender, g = "female", 1-g
				}
				a.GenderProb = &g
			}
		case AttrExpression:
			m, err := e.optional(ModelExpression)
			if err != nil {
				return nil, err
			}
			in := make([]float32, 3*224*224)
			c := box.Center()
			s := math.Max(box.W(), box.H()) * 0.6
			r := geom.Rect{X1: c.X - s, Y1: c.Y - s, X2: c.X + s, Y2: c.Y + s}
			p.warp(in, 224, 224, cropTransform(r, 224, 224), layout{bgr: true, mul: [3]float32{1. / 255, 1. / 255, 1. / 255}})
			out, err := m.Run(in)
			if err != nil {
				return nil, fmt.Errorf("engine: expression: %w", err)
			}
			pr := softmax(out[0])
			best := 0
			for i := range pr {
				if pr[i] > pr[best] {
					best = i
				}
			}
			a.Expression = facegate.Expressions[best]
			a.ExprProbs = pr
		case AttrLiveness:
			m, err := e.optional(ModelLiveness)
			if err != nil {
				return nil, err
			}
			in := make([]float32, 3*128*128)
			p.warp(in, 128, 128, cropTransform(contextCrop(box, 2.7, img.W, img.H), 128, 128), layout{bgr: livenessBGR, mul: [3]float32{1, 1, 1}})
			out, err := m.Run(in)
			if err != nil {
				return nil, fmt.Errorf("engine: liveness: %w", err)
			}
			pr := softmax(out[0])
			score := pr[livenessLiveClass]
			live := score >= livenessThreshold
			a.LiveScore, a.Live = &score, &live
		}
	}
	return a, nil
}

var (
	livenessLiveClass = 0
	livenessBGR       = true
)

// ssrMerge combines the SSR-Net stage outputs (3 stages of 3 bins with per-stage shifts and scalings) into one
// value in 0..1.
func ssrMerge(m interface{ OutputNames() []string }, out [][]float32) float64 {
	get := map[string][]float32{}
	for i, n := range m.OutputNames() {
		get[n] = out[i]
	}
	p := [][]float32{get["prob_stage_1"], get["prob_stage_2"], get["prob_stage_3"]}
	d := []float32{get["stage1_delta_k"][0], get["stage2_delta_k"][0], get["stage3_delta_k"][0]}
	off := [][]float32{get["index_offset_stage1"], get["index_offset_stage2"], get["index_offset_stage3"]}
	const s = 3.0
	var total, denom float64 = 0, 1
	for st := 0; st < 3; st++ {
		var acc float64
		for i := 0; i < 3; i++ {
			acc += (float64(i) + float64(off[st][i])) * float64(p[st][i])
		}
		denom *= s * (1 + float64(d[st]))
		total += acc / denom
	}
	return total
}
