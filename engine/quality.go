package engine

import (
	"fmt"
	"math"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/geom"
)

// Quality thresholds behind the issue codes in facegate.Quality.Issues. docs/quality.md explains them.
const (
	qMinSize       = 60   // face height in pixels below which "too_small" is raised
	qMinSharpness  = 0.35 // "blurred"
	qMinBrightness = 0.2  // "dark"
	qMaxBrightness = 0.85 // "overexposed"
	qMinContrast   = 0.06 // "low_contrast"
	qMaxYaw        = 30   // degrees; "pose_yaw"
	qMaxPitch      = 25   // "pose_pitch"
	qMaxRoll       = 30   // "pose_roll"
	qMinEyeOpen    = 0.5  // "eyes_closed"
)

// sharpnessScale sets how Laplacian energy maps to 0..1: energy equal to it scores 1-1/e.
const sharpnessScale = 60.0

func (e *Engine) quality(p *pyramid, box geom.Rect, lm []geom.Point, aligned []float32, q *facegate.Quality) error {
	five := fivePoints(lm)
	q.Size = float32(box.H())
	q.InterEye = float32(math.Hypot(five[1].X-five[0].X, five[1].Y-five[0].Y))
	lum := alignedLuma(aligned)
	q.Brightness, q.Contrast, q.Sharpness = lumaStats(lum, alignSize, alignSize)
	pose, err := e.headPose(p, box)
	if err != nil {
		return err
	}
	q.Pose = pose
	left, right, err := e.eyesOpen(p, lm)
	if err != nil {
		return err
	}
	q.LeftEyeOpen, q.RightEyeOpen = left, right
	q.Score, q.Issues = scoreQuality(q)
	return nil
}

// alignedLuma recovers 0..255 luminance of the central part of the aligned face from the model input tensor.
func alignedLuma(t []float32) []float32 {
	n := alignSize * alignSize
	out := make([]float32, n)
	for i := 0; i < n; i++ {
		r := t[i]*128 + 127
		g := t[n+i]*128 + 127
		b := t[2*n+i]*128 + 127
		out[i] = 0.299*r + 0.587*g + 0.114*b
	}
	return out
}

// lumaStats returns brightness and contrast (0..1 scale) of the inner face region, and sharpness from the
// mean squared response of a 3x3 Laplacian there, mapped to 0..1.
func lumaStats(l []float32, w, h int) (brightness, contrast, sharpness float32) {
	// The inner region (eyes to chin, cheek to cheek) avoids background and hair.
	x0, x1, y0, y1 := w/4, w*3/4, h/3, h*7/8
	var sum, sum2, lap float64
	n := 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			v := float64(l[y*w+x])
			sum += v
			sum2 += v * v
			d := 4*v - float64(l[(y-1)*w+x]) - float64(l[(y+1)*w+x]) - float64(l[y*w+x-1]) - float64(l[y*w+x+1])
			lap += d * d
			n++
		}
	}
	mean := sum / float64(n)
	variance := math.Max(0, sum2/float64(n)-mean*mean)
	sd := math.Sqrt(variance)
	// Normalise the Laplacian energy by contrast so that a dim but sharp face is not called blurred.
	energy := math.Sqrt(lap/float64(n)) / math.Max(sd, 8) * 64
	return float32(mean / 255), float32(sd / 255), float32(1 - math.Exp(-energy/sharpnessScale))
}

// scoreQuality combines the measurements into one 0..1 score and the list of issues.
func scoreQuality(q *facegate.Quality) (float32, []string) {
	var issues []string
	ramp := func(v, lo, hi float64) float64 { return math.Max(0, math.Min(1, (v-lo)/(hi-lo))) }
	size := ramp(float64(q.Size), 20, 2*qMinSize)
	if q.Size < qMinSize {
		issues = append(issues, "too_small")
	}
	sharp := ramp(float64(q.Sharpness), 0.1, 2*qMinSharpness)
	if q.Sharpness < qMinSharpness {
		issues = append(issues, "blurred")
	}
	b := float64(q.Brightness)
	light := math.Min(ramp(b, 0.05, 0.3), ramp(1-b, 0.05, 0.25))
	if q.Brightness < qMinBrightness {
		issues = append(issues, "dark")
	}
	if q.Brightness > qMaxBrightness {
		issues = append(issues, "overexposed")
	}
	if q.Contrast < qMinContrast {
		issues = append(issues, "low_contrast")
	}
	light *= ramp(float64(q.Contrast), 0.02, 2*qMinContrast)
	yaw, pitch, roll := math.Abs(float64(q.Pose.Yaw)), math.Abs(float64(q.Pose.Pitch)), math.Abs(float64(q.Pose.Roll))
	if yaw > qMaxYaw {
		issues = append(issues, "pose_yaw")
	}
	if pitch > qMaxPitch {
		issues = append(issues, "pose_pitch")
	}
	if roll > qMaxRoll {
		issues = append(issues, "pose_roll")
	}
	pose := ramp(70-yaw, 0, 70-qMaxYaw/2) * ramp(60-pitch, 0, 60-qMaxPitch/2) * ramp(70-roll, 0, 40)
	eyes := math.Min(float64(q.LeftEyeOpen), float64(q.RightEyeOpen))
	if eyes < qMinEyeOpen {
		issues = append(issues, "eyes_closed")
	}
	eyeF := 0.5 + 0.5*ramp(eyes, 0.1, 0.6)
	score := math.Cbrt(size*sharp*light) * pose * eyeF
	return float32(math.Round(score*1000) / 1000), issues
}

// headPose runs the pose model (Hopenet-style: 66 bins of 3 degrees per angle) on the face box widened by a
// quarter on each side, resized to 224x224, ImageNet normalisation.
func (e *Engine) headPose(p *pyramid, box geom.Rect) (facegate.Pose, error) {
	w, h := box.W(), box.H()
	r := geom.Rect{X1: box.X1 - w/4, Y1: box.Y1 - h/4, X2: box.X2 + w/4, Y2: box.Y2 + h/4}
	in := make([]float32, 3*224*224)
	p.warp(in, 224, 224, cropTransform(r, 224, 224), imagenetLayout)
	out, err := e.pose.Run(in)
	if err != nil {
		return facegate.Pose{}, fmt.Errorf("engine: pose: %w", err)
	}
	angle := func(logits []float32) float32 {
		pr := softmax(logits)
		var s float64
		for i, v := range pr {
			s += float64(i) * float64(v)
		}
		return float32(s*3 - 99)
	}
	// Output order in the model: yaw ("output"), pitch ("617"), roll ("618"). The model's yaw grows as the face
	// turns towards the image's left (checked against landmark geometry on LFW: correlation -0.97), so it is
	// negated to facegate's convention; its pitch grows when looking up and its roll clockwise, as documented.
	return facegate.Pose{Yaw: -angle(out[0]), Pitch: angle(out[1]), Roll: angle(out[2])}, nil
}

var imagenetLayout = layout{
	mean: [3]float32{0.485 * 255, 0.456 * 255, 0.406 * 255},
	mul:  [3]float32{1 / (0.229 * 255), 1 / (0.224 * 255), 1 / (0.225 * 255)},
}

// eyesOpen runs the eye-state model on a 24x24 grey crop around each eye (side 1.6x the eye's width) and returns
// the probability that the subject's left and right eye are open.
func (e *Engine) eyesOpen(p *pyramid, lm []geom.Point) (left, right float32, err error) {
	eye := func(corner1, corner2 int, lids ...int) (float32, error) {
		var c geom.Point
		for _, i := range lids {
			c.X += lm[i].X
			c.Y += lm[i].Y
		}
		c.X /= float64(len(lids))
		c.Y /= float64(len(lids))
		side := math.Hypot(lm[corner2].X-lm[corner1].X, lm[corner2].Y-lm[corner1].Y) * 1.6
		if side < 2 {
			side = 2
		}
		r := geom.Rect{X1: c.X - side/2, Y1: c.Y - side/2, X2: c.X + side/2, Y2: c.Y + side/2}
		in := make([]float32, 24*24)
		p.warp(in, 24, 24, cropTransform(r, 24, 24), layout{grey: true, mul: [3]float32{1. / 255}})
		out, err := e.eye.Run(in)
		if err != nil {
			return 0, fmt.Errorf("engine: eye state: %w", err)
		}
		return softmax(out[0])[eyeOpenClass], nil
	}
	// iBUG points 36-41 are the subject's right eye (image left), 42-47 the subject's left eye.
	if right, err = eye(36, 39, 37, 38, 40, 41); err != nil {
		return 0, 0, err
	}
	if left, err = eye(42, 45, 43, 44, 46, 47); err != nil {
		return 0, 0, err
	}
	return left, right, nil
}

// eyeOpenClass is the eye model's output index for an open eye.
var eyeOpenClass = 1

func softmax(v []float32) []float32 {
	m := v[0]
	for _, x := range v {
		if x > m {
			m = x
		}
	}
	out := make([]float32, len(v))
	var s float64
	for i, x := range v {
		e := math.Exp(float64(x - m))
		out[i] = float32(e)
		s += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / s)
	}
	return out
}
