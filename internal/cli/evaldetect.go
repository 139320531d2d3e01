package cli

import (
	"context"
	"fmt"
	"image"
	_ "image/jpeg" // background and face photos for synth-crowd
	_ "image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/eval"
	"github.com/facegate/facegate/internal/imgio"
)

// DetectEvalReport is the JSON report of 'eval detect'.
type DetectEvalReport struct {
	Labels    string  `json:"labels"`
	Profile   string  `json:"profile"`
	ImagesDir string  `json:"images_dir"`
	MinFace   int     `json:"min_face"`
	Threshold float64 `json:"det_threshold"`
	IoU       float64 `json:"iou"`
	Workers   int     `json:"workers"`
	eval.DetectSummary
	// MinFaceRaised counts the images where the engine searched for larger faces than --min-face to stay within
	// its detector-run budget (engine.Report.MinFaceUsed).
	MinFaceRaised int `json:"min_face_raised_images"`
	// FailedImages are the images that could not be read or analysed; their faces count as missed.
	FailedImages map[string]string `json:"failed_images,omitempty"`
	PlotFile     string            `json:"pr_png,omitempty"`
}

func runEvalDetect(env *Env, args []string) error {
	var f evalFlags
	fs := newFlags(env, "eval detect", "eval detect --labels FILE [--images DIR] [--min-face N] [--det-threshold T] [--plot PR.png] [--json] [--out REPORT.json]\n\n"+
		"Runs face detection on every labelled image and reports recall by face height, precision, AP@0.5 and the time\n"+
		"per image. FILE is WIDER FACE labels ('# path' then 'x y w h ...' lines, or the official path/count/boxes\n"+
		"layout, whose invalid faces are ignored) or a CSV with a path (or file) and x,y,w,h columns. Time per image is\n"+
		"measured with --workers images analysed side by side; use --workers 1 for latency.")
	f.register(fs)
	labels := fs.String("labels", "", "ground-truth boxes: WIDER FACE label file or CSV path,x,y,w,h")
	images := fs.String("images", "", "folder the label paths are relative to (default: the label file's folder)")
	minFace := fs.Int("min-face", engine.DefaultMinFace, fmt.Sprintf("smallest face height to look for, in pixels (at least %d)", engine.MinFaceFloor))
	thresh := fs.Float64("det-threshold", engine.DefaultDetThreshold, "detector confidence threshold")
	maxFaces := fs.Int("max-faces", engine.DefaultMaxFaces, "faces kept per image at most, the largest")
	maxRuns := fs.Int("max-detector-runs", engine.DefaultMaxDetectorRuns, "detector windows per image at most (the engine raises --min-face to fit)")
	iou := fs.Float64("iou", eval.MatchIoU, "overlap at which a detection finds a labelled face")
	plot := fs.String("plot", "", "write the precision-recall curve as a PNG to this file")
	limit := fs.Int("limit", 0, "use only the first N labelled images (quick checks)")
	profileName := fs.String("profile", "default", profileUsage)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	profile, err := parseProfile(fs, *profileName, map[string]*int{"min-face": minFace, "max-faces": maxFaces, "max-detector-runs": maxRuns})
	if err != nil {
		return err
	}
	switch {
	case *labels == "":
		return usagef("--labels is required")
	case *minFace < engine.MinFaceFloor:
		return usagef("--min-face must be at least %d pixels", engine.MinFaceFloor)
	case *thresh <= 0 || *thresh >= 1:
		return usagef("--det-threshold must be in (0, 1)")
	case *maxFaces < 1 || *maxRuns < 1:
		return usagef("--max-faces and --max-detector-runs must be at least 1")
	case *iou <= 0 || *iou > 1:
		return usagef("--iou must be in (0, 1]")
	}
	if *images == "" {
		*images = filepath.Dir(*labels)
	}
	lf, err := os.Open(*labels)
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	imgs, err := eval.ParseDetLabels(lf)
	lf.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *labels, err)
	}
	if *limit > 0 && *limit < len(imgs) {
		imgs = imgs[:*limit]
	}
	e, err := f.openEngine(env)
	if err != nil {
		return err
	}
	defer e.Close()
	opt := engine.Options{Profile: profile, MinFaceSize: *minFace, Threshold: *thresh, MaxFaces: *maxFaces, MaxDetectorRuns: *maxRuns}
	res, raised, failed := detectAll(env, e, *images, imgs, opt, f.workers)
	if env.Ctx != nil && env.Ctx.Err() != nil {
		return env.Ctx.Err()
	}
	rep := DetectEvalReport{Profile: *profileName, Labels: *labels, ImagesDir: *images, MinFace: *minFace, Threshold: *thresh, IoU: *iou,
		Workers: f.workers, DetectSummary: eval.SummarizeDetection(res, *iou), MinFaceRaised: raised}
	if len(failed) > 0 {
		rep.FailedImages = failed
	}
	if *plot != "" {
		if err := writePRPlot(*plot, rep); err != nil {
			return err
		}
		rep.PlotFile = *plot
	}
	return f.emit(env, rep, func() { printDetectReport(env, rep) })
}

// detectAll runs the engine on every labelled image, workers at a time, timing each.
func detectAll(env *Env, e *engine.Engine, dir string, imgs []eval.LabelledImage, opt engine.Options, workers int) (
	res []eval.DetImageResult, raised int, failed map[string]string) {
	res = make([]eval.DetImageResult, len(imgs))
	errs := make([]error, len(imgs))
	raisedAt := make([]bool, len(imgs))
	forEach(env, len(imgs), workers, "detecting", func(i int) {
		li := imgs[i]
		res[i] = eval.DetImageResult{Path: li.Path, Truth: li.Faces}
		t0 := time.Now()
		var rep engine.Report
		o := opt
		o.Report = &rep
		res[i].Dets, errs[i] = detectFile(e, filepath.Join(dir, filepath.FromSlash(li.Path)), o)
		res[i].Elapsed = time.Since(t0)
		raisedAt[i] = errs[i] == nil && rep.MinFaceUsed > opt.MinFaceSize
	})
	failed = map[string]string{}
	for i, err := range errs {
		if err != nil {
			failed[imgs[i].Path] = problem(err)
		}
		if raisedAt[i] {
			raised++
		}
	}
	return res, raised, failed
}

func detectFile(e *engine.Engine, path string, opt engine.Options) ([]eval.Detection, error) {
	img, _, err := imgio.DecodeFile(path, imgio.DefaultLimits)
	if err != nil {
		return nil, err
	}
	faces, err := e.Analyze(context.Background(), img, opt)
	if err != nil {
		return nil, err
	}
	dets := make([]eval.Detection, len(faces))
	for i, fc := range faces {
		b := fc.Box
		dets[i] = eval.Detection{Score: float64(fc.Score),
			Box: eval.BoxXYWH{X: float64(b.X1), Y: float64(b.Y1), W: float64(b.X2 - b.X1), H: float64(b.Y2 - b.Y1)}}
	}
	return dets, nil
}

func writePRPlot(path string, rep DetectEvalReport) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	title := fmt.Sprintf("Precision-recall: %s (%d faces, AP@%.2g %.3f)", filepath.Base(rep.Labels), rep.Faces, rep.IoU, rep.AP)
	err = eval.PlotPR(out, title, rep.Curve, 800, 600)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

func printDetectReport(env *Env, r DetectEvalReport) {
	w := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "images\t%d (%d failed)\n", r.Images, len(r.FailedImages))
	fmt.Fprintf(w, "faces\t%d (+%d ignored)\n", r.Faces, r.IgnoredFaces)
	fmt.Fprintf(w, "profile\t%s\n", r.Profile)
	fmt.Fprintf(w, "min face / threshold\t%d px / %.2f (raised on %d images)\n", r.MinFace, r.Threshold, r.MinFaceRaised)
	fmt.Fprintf(w, "recall\t%.3f (%d/%d)\n", r.Recall, r.TruePositives, r.Faces)
	fmt.Fprintf(w, "precision\t%.3f (%d false of %d detections; %d of them on a labelled face at IoU >= %.1f)\n",
		r.Precision, r.FalsePositives, r.Detections, r.FalsePositivesNearFace, math.Min(eval.NearIoU, r.IoU))
	fmt.Fprintf(w, "AP@%.2g\t%.3f\n", r.IoU, r.AP)
	fmt.Fprintf(w, "time per image\tmean %.0f ms, p95 %.0f ms (%d workers)\n", 1000*r.MeanSeconds, 1000*r.P95Seconds, r.Workers)
	fmt.Fprintln(w, "\nface height (px)\tfaces\tfound\trecall")
	for _, b := range r.ByHeight {
		rec := "-"
		if b.Faces > 0 {
			rec = fmt.Sprintf("%.3f", b.Recall)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", b.Bucket, b.Faces, b.Found, rec)
	}
	w.Flush()
	if len(r.FailedImages) > 0 {
		names := make([]string, 0, len(r.FailedImages))
		for n := range r.FailedImages {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			fmt.Fprintf(env.Stdout, "failed: %s: %s\n", n, r.FailedImages[n])
		}
	}
	if r.PlotFile != "" {
		fmt.Fprintf(env.Stdout, "PR curve: %s\n", r.PlotFile)
	}
}

func runEvalSynthCrowd(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "eval synth-crowd", "eval synth-crowd --out DIR [--images N] [--seed S] [--lfw DIR] [--backgrounds DIR]\n\n"+
		"Writes a labelled synthetic crowd benchmark: LFW faces (each located once with the engine; photos with more\n"+
		"than one face are skipped) scaled to 8-64 px and pasted into face-free crops of the labelled dlib_examples\n"+
		"photos, with varied lighting, blur and JPEG quality. DIR gets crowd_NNNN.jpg, labels.csv and labels.txt\n"+
		"(WIDER FACE layout) for 'facegate eval detect --labels DIR/labels.csv'. The same seed gives the same set.")
	c.register(fs)
	out := fs.String("out", "", "folder to write the images and labels to")
	n := fs.Int("images", 20, fmt.Sprintf("images to write (at most %d)", eval.MaxSynthImages))
	seed := fs.Int64("seed", 1, "random seed")
	lfw := fs.String("lfw", "../shared/datasets/lfw/images_deepfunneled", "LFW folder (one subfolder per person)")
	bgs := fs.String("backgrounds", "../shared/datasets/dlib_examples/detection", "folder of scene photos with a boxes.csv listing every face in them")
	pool := fs.Int("pool", 150, "LFW photos drawn as source faces")
	width := fs.Int("width", 1280, "image width")
	height := fs.Int("height", 720, "image height")
	minFaces := fs.Int("faces-min", 12, "faces per image at least")
	maxFaces := fs.Int("faces-max", 30, fmt.Sprintf("faces per image at most (at most %d)", eval.MaxSynthFaces))
	if _, err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return usagef("--out is required")
	case *n < 1 || *n > eval.MaxSynthImages:
		return usagef("--images must be in 1..%d", eval.MaxSynthImages)
	case *pool < 1 || *pool > 5000:
		return usagef("--pool must be in 1..5000")
	}
	cfg := eval.SynthConfig{Images: *n, Seed: *seed, Width: *width, Height: *height, MinFaces: *minFaces, MaxFaces: *maxFaces}
	if err := cfg.Check(); err != nil {
		return usagef("%s (--width, --height, --faces-min, --faces-max)", strings.TrimPrefix(err.Error(), "eval: "))
	}
	backgrounds, err := loadBackgrounds(*bgs)
	if err != nil {
		return err
	}
	e, _, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()
	faces, err := loadSynthFaces(env, e, *lfw, *pool, *seed)
	if err != nil {
		return err
	}
	labelled, err := eval.SynthCrowd(*out, cfg, faces, backgrounds)
	if err != nil {
		return err
	}
	total := 0
	for _, l := range labelled {
		total += len(l.Faces)
	}
	fmt.Fprintf(env.Stdout, "wrote %d images with %d faces (%d source faces, %d backgrounds) to %s; labels: %s\n",
		len(labelled), total, len(faces), len(backgrounds), *out, filepath.Join(*out, "labels.csv"))
	return nil
}

// loadBackgrounds reads dir/boxes.csv and the photos it lists.
func loadBackgrounds(dir string) ([]eval.SynthBackground, error) {
	f, err := os.Open(filepath.Join(dir, "boxes.csv"))
	if err != nil {
		return nil, fmt.Errorf("backgrounds: %w", err)
	}
	labelled, err := eval.ParseBoxCSV(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("backgrounds: %w", err)
	}
	var out []eval.SynthBackground
	for _, l := range labelled {
		img, err := decodeStd(filepath.Join(dir, filepath.FromSlash(l.Path)))
		if err != nil {
			return nil, fmt.Errorf("backgrounds: %w", err)
		}
		bg := eval.SynthBackground{Img: img}
		for _, t := range l.Faces {
			bg.Faces = append(bg.Faces, t.Box)
		}
		out = append(out, bg)
	}
	return out, nil
}

func decodeStd(path string) (image.Image, error) {
	img, _, err := imgio.DecodeFile(path, imgio.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img.ToStd(), nil
}

// loadSynthFaces draws pool LFW photos (by seed) and keeps those where the engine finds exactly one face, near
// the centre, with that face's box.
func loadSynthFaces(env *Env, e *engine.Engine, dir string, pool int, seed int64) ([]eval.SynthFace, error) {
	people, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("lfw: %w", err)
	}
	var paths []string
	for _, p := range people {
		if !p.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, p.Name()))
		if err != nil {
			return nil, fmt.Errorf("lfw: %w", err)
		}
		for _, f := range files {
			if strings.HasSuffix(strings.ToLower(f.Name()), ".jpg") {
				paths = append(paths, filepath.Join(dir, p.Name(), f.Name()))
				break // one photo per person: more different faces
			}
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("lfw: no person folder with a .jpg in %s", dir)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x1f5))
	rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
	paths = paths[:min(pool, len(paths))]
	prog := eval.NewProgress(env.Stderr, "locating source faces", len(paths))
	var out []eval.SynthFace
	for _, p := range paths {
		img, _, err := imgio.DecodeFile(p, imgio.DefaultLimits)
		if err != nil {
			return nil, fmt.Errorf("lfw: %w", err)
		}
		faces, err := e.Analyze(context.Background(), img, engine.Options{MinFaceSize: 20})
		prog.Add(1)
		if err != nil {
			return nil, fmt.Errorf("lfw: %s: %w", p, err)
		}
		if len(faces) != 1 {
			continue
		}
		b := faces[0].Box
		cx, cy := float64(b.X1+b.X2)/2, float64(b.Y1+b.Y2)/2
		if abs64(cx-float64(img.W)/2) > 0.15*float64(img.W) || abs64(cy-float64(img.H)/2) > 0.15*float64(img.H) {
			continue
		}
		out = append(out, eval.SynthFace{Img: img.ToStd(),
			Box: eval.BoxXYWH{X: float64(b.X1), Y: float64(b.Y1), W: float64(b.X2 - b.X1), H: float64(b.Y2 - b.Y1)}})
	}
	prog.Done()
	if len(out) == 0 {
		return nil, fmt.Errorf("lfw: no photo of %d with exactly one face", len(paths))
	}
	return out, nil
}

func abs64(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
