// Package engine turns an image into faces: detection (with tiling for small faces), 68-point landmarks,
// five-point alignment, 512-d templates, quality, and, on request only, age, gender, expression and liveness.
// Its API takes and returns plain Go types; ONNX Runtime stays behind internal/onnx. Every analysis is bounded by
// the limits in limits.go (smallest face, detector runs, faces per image) and by its context.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/geom"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/onnx"
)

// Config says where the runtime and models are and how to run them.
type Config struct {
	// RuntimePath is libonnxruntime.so.1; ModelsDir holds fr_*.onnx. See internal/modelpack for how they are found.
	RuntimePath string
	ModelsDir   string
	// Threads is the number of threads each model run may use (default 1). The engine gets its parallelism by
	// running independent model calls side by side (a face's embedding beside its pose and eye models, several
	// faces at once), which on small models beats intra-op threads; docs/performance.md has the figures.
	Threads int
	// Precise averages landmarks over seven slightly shifted and scaled crops and embeds each face together with
	// its mirror image. It costs about twice the time per face for a small accuracy gain (docs/accuracy.md).
	// Templates made with and without it are compatible.
	Precise bool
	Logger  *slog.Logger
}

// Attribute names the optional inferences.
type Attribute string

// The optional attributes.
const (
	AttrAge        Attribute = "age"
	AttrGender     Attribute = "gender"
	AttrExpression Attribute = "expression"
	AttrLiveness   Attribute = "liveness"
)

// ParseAttributes parses a comma-separated list such as "age,liveness"; "all" selects every attribute.
func ParseAttributes(list []string) ([]Attribute, error) {
	var out []Attribute
	for _, s := range list {
		switch a := Attribute(s); a {
		case AttrAge, AttrGender, AttrExpression, AttrLiveness:
			out = append(out, a)
		case "all":
			out = append(out, AttrAge, AttrGender, AttrExpression, AttrLiveness)
		case "":
		default:
			return nil, fmt.Errorf("engine: unknown attribute %q (want age, gender, expression, liveness or all)", s)
		}
	}
	return out, nil
}

// Options control one analysis.
type Options struct {
	// Profile chooses the detection profile (ProfileDefault when empty). ProfileCrowd changes the defaults of
	// MinFaceSize, MaxFaces and MaxDetectorRuns and how tiles' finds are confirmed; see profile.go.
	Profile Profile
	// MinFaceSize is the smallest face height in pixels to look for (default 40, at least MinFaceFloor).
	// Smaller values tile large images more finely and cost more detector runs; when the plan would take more
	// than MaxDetectorRuns, the smallest face that fits is searched for instead and Report says which.
	MinFaceSize int
	// Threshold is the detector confidence threshold (default 0.7).
	Threshold float64
	// MaxFaces is how many faces are analysed at most, the largest kept (default DefaultMaxFaces).
	MaxFaces int
	// MaxDetectorRuns bounds the detector windows of the tiling plan (default DefaultMaxDetectorRuns); the
	// confirmation looks at what they find are bounded by as many again.
	MaxDetectorRuns int
	// Report, when not nil, receives what the limits did (the face size searched, the faces found, truncation).
	Report *Report
	// Embed computes each face's template.
	Embed bool
	// Attributes lists optional inferences to run.
	Attributes []Attribute
	// Timings, when not nil, receives the time spent in each stage (added to what it holds).
	Timings *Timings
	// PrimaryOnly analyses only the most prominent face (see Primary), skipping the work for the others.
	PrimaryOnly bool
	// Sweep, when not nil, searches only a part of the fine windows of this image (a video frame) and those
	// where the previous frames had faces; see Sweep.
	Sweep *Sweep
}

// DefaultMinFace is the default smallest face height searched for, in pixels.
const DefaultMinFace = 40

// DefaultDetThreshold is the default detector confidence threshold.
const DefaultDetThreshold = 0.7

// Model file names in the model pack.
const (
	ModelDetect     = "fr_detect.onnx"
	ModelLandmark   = "fr_landmark.onnx"
	ModelFeature    = "fr_feature.onnx"
	ModelLiveness   = "fr_liveness.onnx"
	ModelAge        = "fr_age.onnx"
	ModelGender     = "fr_gender.onnx"
	ModelExpression = "fr_expression.onnx"
	ModelPose       = "fr_pose.onnx"
	ModelEye        = "fr_eye.onnx"
)

// Engine runs the models. It is safe for concurrent use; sessions are created once.
type Engine struct {
	cfg                 Config
	det, lmk, feat, eye *onnx.Model
	pose                *onnx.Model

	optMu  sync.Mutex
	opt    map[string]*onnx.Model // attribute models, loaded on first use
	closed bool
}

// New loads the runtime and the core models (detector, landmarks, embedding, pose, eyes). Attribute models are
// loaded the first time they are asked for.
func New(cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := onnx.Init(cfg.RuntimePath); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{cfg: cfg, opt: map[string]*onnx.Model{}}
	var err error
	load := func(name string) *onnx.Model {
		if err != nil {
			return nil
		}
		var m *onnx.Model
		m, err = onnx.Load(filepath.Join(cfg.ModelsDir, name), e.sessionOptions())
		return m
	}
	e.det = load(ModelDetect)
	e.lmk = load(ModelLandmark)
	e.feat = load(ModelFeature)
	e.eye = load(ModelEye)
	e.pose = load(ModelPose)
	if err == nil {
		sc, bx := e.det.Outputs[0], e.det.Outputs[1]
		if sc.Name != "scores" {
			sc, bx = bx, sc
		}
		err = checkDetector(e.det.Inputs[0].Shape, sc.Shape, bx.Shape)
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("engine: %w", err)
	}
	return e, nil
}

func (e *Engine) sessionOptions() onnx.Options {
	return onnx.Options{IntraOpThreads: e.threads()}
}

func (e *Engine) threads() int {
	if e.cfg.Threads > 0 {
		return e.cfg.Threads
	}
	return 1
}

// Close releases every session.
func (e *Engine) Close() error {
	e.optMu.Lock()
	defer e.optMu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	for _, m := range []*onnx.Model{e.det, e.lmk, e.feat, e.eye, e.pose} {
		if m != nil {
			errs = append(errs, m.Close())
		}
	}
	for _, m := range e.opt {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

func (e *Engine) optional(name string) (*onnx.Model, error) {
	e.optMu.Lock()
	defer e.optMu.Unlock()
	if e.closed {
		return nil, errors.New("engine: closed")
	}
	if m, ok := e.opt[name]; ok {
		return m, nil
	}
	if err := modelpack.VerifyOptional(e.cfg.ModelsDir, name); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	m, err := onnx.Load(filepath.Join(e.cfg.ModelsDir, name), e.sessionOptions())
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e.opt[name] = m
	return m, nil
}

// Analyzer is the engine as its callers use it: the server and the video pipeline depend on this interface, so
// their tests can run a deterministic analyser without the models. *Engine implements it.
type Analyzer interface {
	Analyze(ctx context.Context, img *imgio.Image, opt Options) ([]facegate.Face, error)
	Embed(ctx context.Context, img *imgio.Image, f facegate.Face) (facegate.Face, error)
	AlignedImage(img *imgio.Image, f facegate.Face) (*imgio.Image, error)
}

var _ Analyzer = (*Engine)(nil)

// ErrNoFace is returned by operations that need a face when none is found.
var ErrNoFace = errors.New("engine: no face found")

// Analyze finds every face in img with landmarks and quality, and templates and attributes as opt asks.
// Faces are sorted by descending box area. The work is bounded by opt's limits (MinFaceFloor, MaxDetectorRuns,
// MaxFaces) and by ctx: ctx is checked before every detector run and every model call of a face, so once it is
// done Analyze returns ctx's error after at most the model calls already running (one per core).
func (e *Engine) Analyze(ctx context.Context, img *imgio.Image, opt Options) ([]facegate.Face, error) {
	if img == nil || img.W <= 0 || img.H <= 0 {
		return nil, errors.New("engine: empty image")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := CheckMinFace(opt.MinFaceSize); err != nil {
		return nil, err
	}
	if _, err := ParseProfile(string(opt.Profile)); err != nil {
		return nil, err
	}
	if opt.Sweep != nil {
		if err := opt.Sweep.check(); err != nil {
			return nil, err
		}
	}
	opt = withDefaults(opt)
	p := newPyramid(img)
	p.ctx = ctx
	tm := opt.Timings
	t0 := time.Now()
	minFace := planMinFace(img.W, img.H, opt.MinFaceSize, opt.MaxDetectorRuns)
	dets, st, err := e.detect(ctx, p, detectLimits{minFace: float64(minFace), thresh: opt.Threshold,
		maxRuns: opt.MaxDetectorRuns, maxFaces: opt.MaxFaces, crowd: opt.Profile == ProfileCrowd, sweep: opt.Sweep})
	if err != nil {
		return nil, err
	}
	tm.add(stageDetect, t0)
	sort.SliceStable(dets, func(i, j int) bool { return dets[i].rect.Area() > dets[j].rect.Area() })
	if rep := opt.Report; rep != nil {
		*rep = Report{MinFaceUsed: minFace, DetectorRuns: st.runs, FacesFound: len(dets),
			Truncated: st.unconfirmed > 0 || len(dets) > opt.MaxFaces}
	}
	if opt.PrimaryOnly && len(dets) > 1 {
		rects := make([]geom.Rect, len(dets))
		for i, d := range dets {
			rects[i] = d.rect
		}
		dets = dets[primary(rects, img.W, img.H) : primary(rects, img.W, img.H)+1]
	}
	if len(dets) > opt.MaxFaces {
		dets = dets[:opt.MaxFaces]
	}
	// Faces are analysed in parallel, at most one per core (each face runs two model calls at a time).
	faces := make([]facegate.Face, len(dets))
	errs := make([]error, len(dets))
	var timings []Timings
	if tm != nil {
		timings = make([]Timings, len(dets))
	}
	sem := make(chan struct{}, max(1, runtime.NumCPU()/2))
	var wg sync.WaitGroup
	for i, d := range dets {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			o := opt
			if tm != nil {
				o.Timings = &timings[i]
			}
			faces[i], errs[i] = e.analyzeFace(ctx, p, d, o)
		}()
	}
	wg.Wait()
	for i := range timings {
		tm.merge(&timings[i])
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return faces, nil
}

// profileLimits are each profile's defaults for the limits Options leaves unset.
var profileLimits = map[Profile]struct{ minFace, maxFaces, maxRuns int }{
	ProfileDefault: {DefaultMinFace, DefaultMaxFaces, DefaultMaxDetectorRuns},
	ProfileCrowd:   {CrowdMinFace, CrowdMaxFaces, CrowdMaxDetectorRuns},
}

// withDefaults fills opt's unset limits with its profile's defaults (the default profile's for an unknown one).
func withDefaults(opt Options) Options {
	l, ok := profileLimits[opt.Profile]
	if !ok {
		l = profileLimits[ProfileDefault]
	}
	if opt.MinFaceSize <= 0 {
		opt.MinFaceSize = l.minFace
	}
	if opt.Threshold <= 0 {
		opt.Threshold = DefaultDetThreshold
	}
	if opt.MaxFaces <= 0 {
		opt.MaxFaces = l.maxFaces
	}
	if opt.MaxDetectorRuns <= 0 {
		opt.MaxDetectorRuns = l.maxRuns
	}
	return opt
}

// analyzeFace runs a face's models, checking ctx before each step.
func (e *Engine) analyzeFace(ctx context.Context, p *pyramid, d rawDet, opt Options) (facegate.Face, error) {
	f := facegate.Face{Box: toBox(d.rect), Score: float32(d.score)}
	tm := opt.Timings
	if err := ctx.Err(); err != nil {
		return f, fmt.Errorf("engine: %w", err)
	}
	t0 := time.Now()
	lm, err := e.landmarks(p, d.rect)
	if err != nil {
		return f, err
	}
	tm.add(stageLandmarks, t0)
	f.Landmarks = make([]facegate.Point, len(lm))
	for i, pt := range lm {
		f.Landmarks[i] = facegate.Point{X: float32(pt.X), Y: float32(pt.Y)}
	}
	five := fivePoints(lm)
	for i, pt := range five {
		f.Points5[i] = facegate.Point{X: float32(pt.X), Y: float32(pt.Y)}
	}
	t0 = time.Now()
	aligned, err := e.alignedFace(p, five)
	if err != nil {
		return f, err
	}
	tm.add(stageAlign, t0)
	if err := ctx.Err(); err != nil {
		return f, fmt.Errorf("engine: %w", err)
	}
	// Quality (pose and eye models) and the embedding are independent: they run side by side, keeping two cores
	// busy. Their stage times overlap.
	var qErr error
	var qDur time.Duration
	var wg sync.WaitGroup
	runQuality := func() {
		st := time.Now()
		qErr = e.quality(p, d.rect, lm, aligned, &f.Quality)
		qDur = time.Since(st)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		runQuality()
	}()
	var eErr error
	if opt.Embed {
		t0 = time.Now()
		f.Template, eErr = e.embedAligned(aligned)
		tm.add(stageEmbed, t0)
	}
	wg.Wait()
	if tm != nil {
		tm.Quality += qDur
	}
	if qErr != nil {
		return f, qErr
	}
	if eErr != nil {
		return f, eErr
	}
	if len(opt.Attributes) > 0 {
		t0 = time.Now()
		a, err := e.attributes(ctx, p, d.rect, opt.Attributes)
		if err != nil {
			return f, err
		}
		f.Attributes = a
		tm.add(stageAttributes, t0)
	}
	return f, nil
}

func toBox(r geom.Rect) facegate.Box {
	return facegate.Box{X1: float32(r.X1), Y1: float32(r.Y1), X2: float32(r.X2), Y2: float32(r.Y2)}
}

func fromBox(b facegate.Box) geom.Rect {
	return geom.Rect{X1: float64(b.X1), Y1: float64(b.Y1), X2: float64(b.X2), Y2: float64(b.Y2)}
}

// Primary returns the index of the most prominent face: the one with the largest box, discounted by its
// distance from the image centre, so that a portrait's subject wins over a larger face cut by the frame edge and
// over bystanders. It returns -1 for no faces.
func Primary(faces []facegate.Face, w, h int) int {
	rects := make([]geom.Rect, len(faces))
	for i, f := range faces {
		rects[i] = fromBox(f.Box)
	}
	return primary(rects, w, h)
}

func primary(rects []geom.Rect, w, h int) int {
	best, bi := math.Inf(-1), -1
	for i, r := range rects {
		c := r.Center()
		dx := (c.X - float64(w)/2) / float64(w)
		dy := (c.Y - float64(h)/2) / float64(h)
		// Area as a fraction of the image, less a penalty that grows with the squared distance from the centre.
		s := r.Area()/float64(w*h) - 2*(dx*dx+dy*dy)
		if s > best {
			best, bi = s, i
		}
	}
	return bi
}

// Embed computes the template of a face that Analyze found in img (it re-aligns from the face's five points) and
// returns the face with Template set.
func (e *Engine) Embed(ctx context.Context, img *imgio.Image, f facegate.Face) (facegate.Face, error) {
	if err := ctx.Err(); err != nil {
		return f, fmt.Errorf("engine: %w", err)
	}
	p := newPyramid(img)
	p.ctx = ctx
	var five [5]geom.Point
	for i, pt := range f.Points5 {
		five[i] = geom.Point{X: float64(pt.X), Y: float64(pt.Y)}
	}
	aligned, err := e.alignedFace(p, five)
	if err != nil {
		return f, err
	}
	t, err := e.embedAligned(aligned)
	if err != nil {
		return f, err
	}
	f.Template = t
	return f, nil
}

// Timings accumulates the time spent per stage.
type Timings struct {
	Detect, Landmarks, Align, Quality, Embed, Attributes time.Duration
}

func (t *Timings) merge(o *Timings) {
	t.Detect += o.Detect
	t.Landmarks += o.Landmarks
	t.Align += o.Align
	t.Quality += o.Quality
	t.Embed += o.Embed
	t.Attributes += o.Attributes
}

type stage int

const (
	stageDetect stage = iota
	stageLandmarks
	stageAlign
	stageQuality
	stageEmbed
	stageAttributes
)

func (t *Timings) add(s stage, since time.Time) {
	if t == nil {
		return
	}
	d := time.Since(since)
	switch s {
	case stageDetect:
		t.Detect += d
	case stageLandmarks:
		t.Landmarks += d
	case stageAlign:
		t.Align += d
	case stageQuality:
		t.Quality += d
	case stageEmbed:
		t.Embed += d
	case stageAttributes:
		t.Attributes += d
	}
}
