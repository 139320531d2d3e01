package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/eval"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
)

func runEval(env *Env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(env.Stderr, `Usage: facegate eval <verify|identify|calibrate|detect|synth-crowd> [flags]

  verify       1:1 accuracy on a pair list (LFW pairs.txt layout or CSV a,b,same): 10-fold accuracy, TAR@FAR, ROC
  identify     1:N on a folder-per-person tree: rank-1, rank-5, FNIR@FPIR
  calibrate    decision thresholds for target false-match rates from a folder-per-person tree
  detect       detection on labelled boxes (WIDER FACE or CSV): recall by face height, precision, AP@0.5, PR plot
  synth-crowd  write a labelled synthetic crowd benchmark (LFW faces in real scenes) for detect

verify and identify take --groups FILE (CSV identity,group) to report error rates per group at the
operating threshold, with 95% intervals and the spread between groups (docs/fairness.md).
`)
		if len(args) == 0 {
			return usagef("missing eval mode")
		}
		return nil
	}
	switch args[0] {
	case "verify":
		return runEvalVerify(env, args[1:])
	case "identify":
		return runEvalIdentify(env, args[1:])
	case "calibrate":
		return runEvalCalibrate(env, args[1:])
	case "detect":
		return runEvalDetect(env, args[1:])
	case "synth-crowd":
		return runEvalSynthCrowd(env, args[1:])
	}
	return usagef("unknown eval mode %q (want verify, identify, calibrate, detect or synth-crowd)", args[0])
}

// templateResult is one image's primary-face template, or why there is none.
type templateResult struct {
	Template []float32
	Faces    int
	Err      error
}

// embedAll analyses images in parallel (workers goroutines, one model thread each) and returns the primary face's
// template of each. Images with no face have Faces == 0 and no error.
func embedAll(env *Env, e *engine.Engine, paths []string, workers int, label string) ([]templateResult, time.Duration) {
	res := make([]templateResult, len(paths))
	start := time.Now()
	forEach(env, len(paths), workers, label, func(i int) { res[i] = embedOne(e, paths[i]) })
	return res, time.Since(start)
}

// forEach calls fn for 0..n-1 on workers goroutines, showing progress under label, and stops handing out work
// once env's context is done.
func forEach(env *Env, n, workers int, label string, fn func(i int)) {
	prog := eval.NewProgress(env.Stderr, label, n)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				fn(i)
				prog.Add(1)
			}
		}()
	}
	for i := range n {
		if env.Ctx != nil && env.Ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	prog.Done()
}

func embedOne(e *engine.Engine, path string) templateResult {
	img, _, err := imgio.DecodeFile(path, imgio.DefaultLimits)
	if err != nil {
		return templateResult{Err: err}
	}
	faces, err := e.Analyze(context.Background(), img, engine.Options{PrimaryOnly: true, Embed: true})
	if err != nil {
		return templateResult{Err: err}
	}
	if len(faces) == 0 {
		return templateResult{}
	}
	return templateResult{Template: faces[0].Template, Faces: len(faces)}
}

// evalFlags are shared by the eval modes.
type evalFlags struct {
	common
	workers int
	asJSON  bool
	out     string
	// fair holds the per-group reporting flags of the modes that have them (nil otherwise).
	fair *fairnessFlags
}

func (f *evalFlags) register(fs interface {
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
	StringVar(*string, string, string, string)
	Float64Var(*float64, string, float64, string)
}) {
	fs.StringVar(&f.models, "models", "", "folder with the fr_*.onnx models")
	fs.StringVar(&f.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.BoolVar(&f.precise, "precise", false, "average landmarks over 7 crops and fuse mirror-image templates")
	fs.IntVar(&f.workers, "workers", runtime.NumCPU(), "images analysed in parallel (each model run uses one thread)")
	fs.BoolVar(&f.asJSON, "json", false, "print the report as JSON")
	fs.StringVar(&f.out, "out", "", "also write the JSON report to this file")
}

func (f *evalFlags) openEngine(env *Env) (*engine.Engine, error) {
	if f.workers < 1 {
		return nil, usagef("--workers must be at least 1")
	}
	e, _, err := f.open(env, engine.Config{Threads: 1})
	return e, err
}

func (f *evalFlags) emit(env *Env, report any, text func()) error {
	if f.out != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.out, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing report: %w", err)
		}
	}
	if f.asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	text()
	return nil
}

// VerifyReport is the JSON report of 'eval verify'.
type VerifyReport struct {
	Pairs         int                `json:"pairs"`
	SamePairs     int                `json:"same_pairs"`
	Images        int                `json:"images"`
	NoFaceImages  []string           `json:"no_face_images"`
	FailedImages  map[string]string  `json:"failed_images,omitempty"`
	PairsNoFace   int                `json:"pairs_without_face"`
	KFold         eval.KFoldResult   `json:"kfold"`
	Folds         int                `json:"folds"`
	Threshold     float64            `json:"threshold"`
	ThresholdFrom string             `json:"threshold_source"`
	AccuracyAtThr float64            `json:"accuracy_at_threshold"`
	FMRAtThr      float64            `json:"fmr_at_threshold"`
	FNMRAtThr     float64            `json:"fnmr_at_threshold"`
	TARAtFAR      map[string]float64 `json:"tar_at_far"`
	ThrAtFAR      map[string]float64 `json:"threshold_at_far"`
	AUC           float64            `json:"auc"`
	EER           float64            `json:"eer"`
	ImagesPerSec  float64            `json:"images_per_second"`
	Seconds       float64            `json:"seconds"`
	ROCFile       string             `json:"roc_png,omitempty"`
	// Fairness is the per-group report, with --groups.
	Fairness *FairnessVerifyReport `json:"fairness,omitempty"`
}

func runEvalVerify(env *Env, args []string) error {
	var f evalFlags
	var th thresholdFlags
	fs := newFlags(env, "eval verify", "eval verify --pairs FILE --images DIR [--roc OUT.png] [--json] [--out REPORT.json]\n"+
		"         [--groups FILE [--identities FILE] [--fairness-out F.json] [--fairness-plot F.png] [--fairness-impostors N]]")
	f.register(fs)
	th.register(fs)
	f.fair = &fairnessFlags{}
	f.fair.register(fs, true)
	pairsFile := fs.String("pairs", "", "pair list: LFW pairs.txt layout or CSV with a,b,same columns")
	images := fs.String("images", "", "folder the pair list's paths are relative to")
	roc := fs.String("roc", "", "write the ROC curve as a PNG to this file")
	limit := fs.Int("limit", 0, "use only the first N pairs (quick checks)")
	folds := fs.Int("folds", 10, "folds for k-fold accuracy when the pair list has none")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *pairsFile == "" || *images == "" {
		return usagef("--pairs and --images are required")
	}
	thr, _, thrSource, err := th.resolve()
	if err != nil {
		return err
	}
	if err := f.fair.load(); err != nil {
		return err
	}
	f.fair.threshold, f.fair.thrSource = thr, thrSource
	pf, err := os.Open(*pairsFile)
	if err != nil {
		return fmt.Errorf("pairs: %w", err)
	}
	pairs, err := eval.ParsePairs(pf)
	pf.Close()
	if err != nil {
		return err
	}
	if *limit > 0 && *limit < len(pairs) {
		pairs = pairs[:*limit]
	}
	if st, err := os.Stat(*images); err != nil || !st.IsDir() {
		return fmt.Errorf("--images %s is not a folder", *images)
	}
	index := map[string]int{}
	var paths, names []string
	for _, p := range pairs {
		for _, name := range []string{p.A, p.B} {
			if _, ok := index[name]; !ok {
				index[name] = len(paths)
				paths = append(paths, filepath.Join(*images, name))
				names = append(names, name)
			}
		}
	}
	if f.fair.enabled() {
		labelled := 0
		for _, n := range names {
			if f.fair.labels.Has(f.fair.identity(n)) {
				labelled++
			}
		}
		if labelled == 0 {
			return fmt.Errorf("no image of %s belongs to an identity of %s (identities: %s; see docs/fairness.md)",
				*pairsFile, f.fair.groups, f.fair.identitySource())
		}
	}
	e, err := f.openEngine(env)
	if err != nil {
		return err
	}
	defer e.Close()
	res, took := embedAll(env, e, paths, f.workers, "embedding")
	if env.Ctx != nil && env.Ctx.Err() != nil {
		return env.Ctx.Err()
	}

	rep := VerifyReport{Pairs: len(pairs), Images: len(paths), NoFaceImages: []string{}, Threshold: thr, ThresholdFrom: thrSource,
		TARAtFAR: map[string]float64{}, ThrAtFAR: map[string]float64{}, Folds: *folds}
	for i, r := range res {
		rel, _ := filepath.Rel(*images, paths[i])
		if r.Err != nil {
			if rep.FailedImages == nil {
				rep.FailedImages = map[string]string{}
			}
			rep.FailedImages[rel] = problem(r.Err)
		} else if r.Template == nil {
			rep.NoFaceImages = append(rep.NoFaceImages, rel)
		}
	}
	scored := make([]eval.Scored, len(pairs))
	scores := make([]float64, len(pairs))
	correct, fm, fnm, same := 0, 0, 0, 0
	for i, p := range pairs {
		a, b := res[index[p.A]].Template, res[index[p.B]].Template
		s := -1.0 // a pair with no face on either side counts as "different"
		if a != nil && b != nil {
			s = float64(facegate.Similarity(a, b))
		} else {
			rep.PairsNoFace++
		}
		scored[i] = eval.Scored{Score: s, Same: p.Same, Fold: p.Fold}
		scores[i] = s
		match := s >= thr
		if match == p.Same {
			correct++
		}
		if p.Same {
			same++
			if !match {
				fnm++
			}
		} else if match {
			fm++
		}
	}
	rep.SamePairs = same
	rep.AccuracyAtThr = float64(correct) / float64(len(pairs))
	if n := len(pairs) - same; n > 0 {
		rep.FMRAtThr = float64(fm) / float64(n)
	}
	if same > 0 {
		rep.FNMRAtThr = float64(fnm) / float64(same)
	}
	rep.KFold = eval.KFold(scored, *folds)
	for _, far := range []float64{1e-2, 1e-3} {
		tar, t := eval.TARAtFAR(scored, far)
		key := fmt.Sprintf("%g", far)
		rep.TARAtFAR[key], rep.ThrAtFAR[key] = tar, finite(t)
	}
	curve := eval.ROC(scored)
	rep.AUC = eval.AUC(curve)
	rep.EER, _ = eval.EER(scored)
	rep.Seconds = took.Seconds()
	rep.ImagesPerSec = float64(len(paths)) / took.Seconds()
	if *roc != "" {
		out, err := os.Create(*roc)
		if err != nil {
			return fmt.Errorf("roc: %w", err)
		}
		title := fmt.Sprintf("ROC: %s (%d pairs)", filepath.Base(*pairsFile), len(pairs))
		err = eval.PlotROC(out, title, []eval.Curve{{Name: "facegate", Points: curve}}, 800, 600)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("roc: %w", err)
		}
		rep.ROCFile = *roc
	}
	if f.fair.enabled() {
		rep.Fairness = verifyFairness(f.fair, pairs, scores, names, res)
		title := fmt.Sprintf("%s: FMR and FNMR per group", filepath.Base(*pairsFile))
		if err := f.fair.write(rep.Fairness, func(w io.Writer) error {
			return eval.PlotFairness(w, rep.Fairness.FairnessReport, title, 900, 560)
		}); err != nil {
			return err
		}
	}
	err = f.emit(env, rep, func() {
		w := env.Stdout
		fmt.Fprintf(w, "pairs %d (%d same, %d different) over %d images in %.1fs (%.1f images/s)\n",
			rep.Pairs, same, rep.Pairs-same, rep.Images, rep.Seconds, rep.ImagesPerSec)
		fmt.Fprintf(w, "images with no face found: %d (pairs affected: %d, scored as different)\n", len(rep.NoFaceImages), rep.PairsNoFace)
		for _, n := range rep.NoFaceImages {
			fmt.Fprintf(w, "  no face: %s\n", n)
		}
		for n, msg := range rep.FailedImages {
			fmt.Fprintf(w, "  failed: %s: %s\n", n, msg)
		}
		fmt.Fprintf(w, "%d-fold accuracy %.2f%% ± %.2f%% (mean fold threshold %.4f)\n", len(rep.KFold.Folds), 100*rep.KFold.Mean, 100*rep.KFold.Std, rep.KFold.Threshold)
		fmt.Fprintf(w, "at threshold %.4f (%s): accuracy %.2f%%, FMR %.4f, FNMR %.4f\n", thr, thrSource, 100*rep.AccuracyAtThr, rep.FMRAtThr, rep.FNMRAtThr)
		for _, far := range []string{"0.01", "0.001"} {
			fmt.Fprintf(w, "TAR @ FAR=%s: %.2f%% (threshold %.4f)\n", far, 100*rep.TARAtFAR[far], rep.ThrAtFAR[far])
		}
		fmt.Fprintf(w, "AUC %.5f, EER %.2f%%\n", rep.AUC, 100*rep.EER)
		if rep.ROCFile != "" {
			fmt.Fprintf(w, "ROC curve: %s\n", rep.ROCFile)
		}
		if rep.Fairness != nil {
			printVerifyFairness(w, rep.Fairness)
		}
	})
	if err == nil && len(rep.FailedImages) > 0 {
		err = fmt.Errorf("%d of %d images could not be read (paths in %s are relative to --images %s)", len(rep.FailedImages), len(paths), *pairsFile, *images)
	}
	return err
}

func finite(v float64) float64 {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// person is one identity folder.
type person struct {
	name   string
	images []string
}

// readTree lists a folder-per-person tree: every subfolder is one identity, its image files in name order.
func readTree(root string) ([]person, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	var people []person
	for _, d := range entries {
		if !d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			continue
		}
		files, err := os.ReadDir(filepath.Join(root, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", d.Name(), err)
		}
		p := person{name: d.Name()}
		for _, f := range files {
			if f.Type().IsRegular() && isImageName(f.Name()) {
				p.images = append(p.images, filepath.Join(root, d.Name(), f.Name()))
			}
		}
		sort.Strings(p.images)
		if len(p.images) > 0 {
			people = append(people, p)
		}
	}
	if len(people) == 0 {
		return nil, fmt.Errorf("%s has no person folders with images", root)
	}
	return people, nil
}

func isImageName(n string) bool {
	switch strings.ToLower(filepath.Ext(n)) {
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".pgm", ".ppm", ".pnm":
		return true
	}
	return false
}

// embedTree analyses the first perPerson images (all when perPerson <= 0) of each of the first maxPeople people
// (all when <= 0) under root, and returns the people and, per person, one result per analysed image.
func embedTree(env *Env, f *evalFlags, root string, perPerson, maxPeople int) ([]person, [][]templateResult, time.Duration, error) {
	people, err := readTree(root)
	if err != nil {
		return nil, nil, 0, err
	}
	if maxPeople > 0 && len(people) > maxPeople {
		people = people[:maxPeople]
	}
	var paths []string
	for i, p := range people {
		if perPerson > 0 && len(p.images) > perPerson {
			people[i].images = p.images[:perPerson]
		}
		paths = append(paths, people[i].images...)
	}
	e, err := f.openEngine(env)
	if err != nil {
		return nil, nil, 0, err
	}
	defer e.Close()
	res, took := embedAll(env, e, paths, f.workers, "embedding")
	if env.Ctx != nil && env.Ctx.Err() != nil {
		return nil, nil, 0, env.Ctx.Err()
	}
	byPerson := make([][]templateResult, len(people))
	for i, p := range people {
		byPerson[i], res = res[:len(p.images)], res[len(p.images):]
	}
	return people, byPerson, took, nil
}

// IdentifyReport is the JSON report of 'eval identify'.
type IdentifyReport struct {
	People        int                `json:"people"`
	GalleryPeople int                `json:"gallery_people"`
	GalleryFaces  int                `json:"gallery_templates"`
	Probes        int                `json:"probes"`
	NoFace        int                `json:"images_without_face"`
	Failed        int                `json:"images_failed"`
	Rank1         float64            `json:"rank1"`
	Rank5         float64            `json:"rank5"`
	FNIRAtFPIR    map[string]float64 `json:"fnir_at_fpir"`
	ThrAtFPIR     map[string]float64 `json:"threshold_at_fpir"`
	Method        string             `json:"open_set_method"`
	Seconds       float64            `json:"seconds"`
	Server        string             `json:"server,omitempty"`
	ServerGallery string             `json:"server_gallery,omitempty"`
	// Fairness is the per-group report, with --groups.
	Fairness *FairnessIdentifyReport `json:"fairness,omitempty"`
}

func runEvalIdentify(env *Env, args []string) error {
	var f evalFlags
	var th thresholdFlags
	fs := newFlags(env, "eval identify", "eval identify --root DIR [--gallery N] [--json] [--server URL --key KEY]\n"+
		"         [--groups FILE [--fairness-out F.json] [--fairness-plot F.png] [--threshold T | --fmr R]]")
	f.register(fs)
	fs.Float64Var(&th.threshold, "threshold", 0, "with --groups: threshold of the per-group FNIR and FPIR (overrides --fmr; default: the model pack's)")
	fs.Float64Var(&th.fmr, "fmr", 0, "with --groups: target false-match rate whose calibrated threshold the per-group figures use")
	f.fair = &fairnessFlags{}
	f.fair.register(fs, false)
	root := fs.String("root", "", "folder with one subfolder of images per person")
	gallery := fs.Int("gallery", 1, "images per person enrolled in the gallery (the first N by name); the rest are probes")
	maxPeople := fs.Int("max-people", 0, "use at most this many people (0 = all)")
	var so serverEval
	fs.StringVar(&so.server, "server", "", "run through a facegate server at this URL (enrol and search over HTTP) instead of the local engine")
	fs.StringVar(&so.key, "key", "", "API key for --server, operator or admin role (default $FACEGATE_KEY)")
	fs.BoolVar(&so.keep, "keep", false, "with --server: keep the evaluation gallery instead of deleting it afterwards")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *root == "" {
		return usagef("--root is required")
	}
	if *gallery < 1 {
		return usagef("--gallery must be at least 1")
	}
	thr, _, thrSource, err := th.resolve()
	if err != nil {
		return err
	}
	if err := f.fair.load(); err != nil {
		return err
	}
	f.fair.threshold, f.fair.thrSource = thr, thrSource
	if so.server != "" {
		return so.run(env, &f, *root, *gallery, *maxPeople)
	}
	people, results, took, err := embedTree(env, &f, *root, 0, *maxPeople)
	if err != nil {
		return err
	}
	rep := IdentifyReport{People: len(people), FNIRAtFPIR: map[string]float64{}, ThrAtFPIR: map[string]float64{}, Seconds: took.Seconds(),
		Method: "every probe is mated; the non-mated search for each probe is the same search with its own identity left out (best wrong-identity score)"}
	type entry struct {
		who  string
		tmpl []float32
	}
	var gal []entry
	var probes []entry
	for i, p := range people {
		enrolled := 0
		for j, r := range results[i] {
			if r.Err != nil {
				rep.Failed++
				continue
			}
			if r.Template == nil {
				rep.NoFace++
				continue
			}
			if j < *gallery {
				gal = append(gal, entry{p.name, r.Template})
				enrolled++
			} else {
				probes = append(probes, entry{p.name, r.Template})
			}
		}
		if enrolled > 0 {
			rep.GalleryPeople++
		}
	}
	rep.GalleryFaces = len(gal)
	var ps []eval.Probe
	inGallery := map[string]bool{}
	for _, g := range gal {
		inGallery[g.who] = true
	}
	for _, pr := range probes {
		if !inGallery[pr.who] {
			continue // its gallery images had no face: not a valid mated search
		}
		// A subject's score is the best over its templates.
		scores := map[string]float64{}
		for _, g := range gal {
			s := float64(facegate.Similarity(pr.tmpl, g.tmpl))
			if old, ok := scores[g.who]; !ok || s > old {
				scores[g.who] = s
			}
		}
		ps = append(ps, eval.Probe{Truth: pr.who, Scores: scores})
	}
	return finishIdentify(env, &f, rep, ps, *gallery)
}

// finishIdentify scores the searches and prints the report.
func finishIdentify(env *Env, f *evalFlags, rep IdentifyReport, ps []eval.Probe, gallery int) error {
	rep.Probes = len(ps)
	if len(ps) == 0 {
		return fmt.Errorf("no probes: every person needs more than --gallery %d images with a face", gallery)
	}
	ir := eval.Identify(ps, []float64{1e-2, 1e-1})
	rep.Rank1, rep.Rank5 = ir.Rank1, ir.Rank5
	for fpir, v := range ir.FNIRAtFPIR {
		rep.FNIRAtFPIR[fmt.Sprintf("%g", fpir)] = v
		rep.ThrAtFPIR[fmt.Sprintf("%g", fpir)] = finite(ir.Thresholds[fpir])
	}
	if f.fair.enabled() {
		fr, err := identifyFairness(f.fair, ps, ir)
		if err != nil {
			return err
		}
		rep.Fairness = fr
		if err := f.fair.write(fr, func(w io.Writer) error {
			return eval.PlotIdentFairness(w, fr.IdentFairnessReport, "", 900, 560)
		}); err != nil {
			return err
		}
	}
	return f.emit(env, rep, func() {
		w := env.Stdout
		if rep.Server != "" {
			fmt.Fprintf(w, "through the server at %s (gallery %s)\n", rep.Server, rep.ServerGallery)
		}
		fmt.Fprintf(w, "people %d, gallery %d people / %d templates, probes %d, no face %d, failed %d (%.1fs)\n",
			rep.People, rep.GalleryPeople, rep.GalleryFaces, rep.Probes, rep.NoFace, rep.Failed, rep.Seconds)
		fmt.Fprintf(w, "rank-1 %.2f%%  rank-5 %.2f%%\n", 100*rep.Rank1, 100*rep.Rank5)
		for _, k := range []string{"0.01", "0.1"} {
			fmt.Fprintf(w, "FNIR @ FPIR=%s: %.2f%% (threshold %.4f)\n", k, 100*rep.FNIRAtFPIR[k], rep.ThrAtFPIR[k])
		}
		fmt.Fprintf(w, "open set: %s\n", rep.Method)
		if rep.Fairness != nil {
			printIdentifyFairness(w, rep.Fairness)
		}
	})
}

// fairnessFlags are the per-group reporting flags of 'eval verify' and 'eval identify' (docs/fairness.md).
type fairnessFlags struct {
	groups     string
	identities string
	out        string
	plot       string
	minPairs   int
	impostors  int
	seed       uint64

	labels    eval.GroupLabels
	ids       map[string]string // image path as the pair list writes it -> identity, from --identities
	threshold float64
	thrSource string
}

func (g *fairnessFlags) register(fs *flag.FlagSet, verify bool) {
	fs.StringVar(&g.groups, "groups", "", "per-group report: CSV of identity,group (several groups: repeated rows or group1;group2); see docs/fairness.md")
	fs.StringVar(&g.out, "fairness-out", "", "with --groups: write the per-group report as JSON to this file")
	fs.StringVar(&g.plot, "fairness-plot", "", "with --groups: write a PNG bar chart of the per-group error rates with 95% intervals to this file")
	fs.IntVar(&g.minPairs, "fairness-min-pairs", eval.DefaultMinPairs, "with --groups: trials a group needs on a rate to enter that rate's spread (fewer: listed as insufficient)")
	if verify {
		fs.StringVar(&g.identities, "identities", "", "with --groups: CSV of image,identity naming the person in each image of the pair list (default: the image's folder name)")
		fs.IntVar(&g.impostors, "fairness-impostors", 0, "with --groups: replace the pair list's within-group impostor pairs by all cross-identity pairs of evaluated images within each group, at most N per group (0 = use the pair list's)")
		fs.Uint64Var(&g.seed, "fairness-seed", 1, "with --fairness-impostors: seed of the sample drawn when a group has more than N pairs")
	}
}

// enabled reports whether a per-group report was asked for.
func (g *fairnessFlags) enabled() bool { return g != nil && g.groups != "" }

// load checks the flags and reads the label files.
func (g *fairnessFlags) load() error {
	if g.groups == "" {
		for _, f := range []struct {
			set  bool
			name string
		}{{g.out != "", "--fairness-out"}, {g.plot != "", "--fairness-plot"}, {g.identities != "", "--identities"}, {g.impostors != 0, "--fairness-impostors"}} {
			if f.set {
				return usagef("%s needs --groups", f.name)
			}
		}
		return nil
	}
	if g.minPairs < 1 {
		return usagef("--fairness-min-pairs must be at least 1")
	}
	if g.impostors < 0 {
		return usagef("--fairness-impostors must be 0 or more")
	}
	data, err := os.ReadFile(g.groups)
	if err != nil {
		return fmt.Errorf("groups: %w", err)
	}
	if g.labels, err = eval.ParseGroupLabels(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("%s: %w", g.groups, err)
	}
	if g.identities != "" {
		data, err := os.ReadFile(g.identities)
		if err != nil {
			return fmt.Errorf("identities: %w", err)
		}
		if g.ids, err = eval.ParseImageIdentities(bytes.NewReader(data)); err != nil {
			return fmt.Errorf("%s: %w", g.identities, err)
		}
	}
	return nil
}

// identity returns the identity of an image of the pair list: from --identities, else its folder name.
func (g *fairnessFlags) identity(img string) string {
	if g.ids != nil {
		return g.ids[img]
	}
	return eval.IdentityFromPath(img)
}

func (g *fairnessFlags) identitySource() string {
	if g.ids != nil {
		return "--identities " + g.identities
	}
	return "folder name of each image path"
}

// fairnessThresholds returns the thresholds of the model pack's calibration table, at which each group's rates are also reported.
func fairnessThresholds() []float64 {
	var ts []float64
	for _, op := range modelpack.Manifest().Threshold.Table {
		ts = append(ts, op.Threshold)
	}
	return ts
}

// write saves the per-group JSON report and plot where asked.
func (g *fairnessFlags) write(report any, plot func(io.Writer) error) error {
	if g.out != "" {
		data, err := json.MarshalIndent(report, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(g.out, append(data, '\n'), 0o644); err != nil {
			return fmt.Errorf("writing fairness report: %w", err)
		}
	}
	if g.plot != "" {
		out, err := os.Create(g.plot)
		if err != nil {
			return fmt.Errorf("fairness plot: %w", err)
		}
		err = plot(out)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("fairness plot: %w", err)
		}
	}
	return nil
}

// FairnessVerifyReport is the per-group report of 'eval verify --groups' (--fairness-out, and "fairness" in the
// main report): eval.FairnessReport's fields plus where its inputs came from.
type FairnessVerifyReport struct {
	eval.FairnessReport
	ThresholdSource string `json:"threshold_source"`
	GroupsFile      string `json:"groups_file"`
	IdentitySource  string `json:"identity_source"`
	// ImagesNoIdentity counts the pair list's images that --identities does not name.
	ImagesNoIdentity int `json:"images_without_identity"`
	// ImpostorSource says where the within-group impostor pairs come from.
	ImpostorSource string `json:"impostor_source"`
	// GeneratedImpostors counts the generated within-group impostor pairs scored (--fairness-impostors);
	// GeneratedNoFace those left out because an image had no face; ListImpostorsReplaced the pair list's
	// within-group impostor pairs they replace.
	GeneratedImpostors    int    `json:"generated_impostor_pairs"`
	GeneratedNoFace       int    `json:"generated_pairs_without_face"`
	ListImpostorsReplaced int    `json:"pair_list_impostors_replaced"`
	PlotFile              string `json:"plot_png,omitempty"`
}

// verifyFairness computes the per-group report of 'eval verify' from the pair list, its scores, and the
// templates of the evaluated images (names[i] is image i as the pair list writes it).
func verifyFairness(g *fairnessFlags, pairs []eval.Pair, scores []float64, names []string, res []templateResult) *FairnessVerifyReport {
	rep := &FairnessVerifyReport{ThresholdSource: g.thrSource, GroupsFile: g.groups, IdentitySource: g.identitySource(),
		ImpostorSource: "the pair list's impostor pairs"}
	if g.ids != nil {
		for _, n := range names {
			if _, ok := g.ids[n]; !ok {
				rep.ImagesNoIdentity++
			}
		}
	}
	gp := make([]eval.GroupPair, 0, len(pairs))
	for i, p := range pairs {
		a, b := g.identity(p.A), g.identity(p.B)
		if g.impostors > 0 && !p.Same && g.labels.Has(a) && g.labels.Has(b) && g.labels.Share(a, b) {
			rep.ListImpostorsReplaced++
			continue
		}
		gp = append(gp, eval.GroupPair{Score: scores[i], Same: p.Same, A: a, B: b})
	}
	if g.impostors > 0 {
		rep.ImpostorSource = fmt.Sprintf("within groups: every pair of evaluated images of two different identities of the group, "+
			"a sample of %d per group where there are more (seed %d); cross-group: the pair list's", g.impostors, g.seed)
		ids := make([]string, len(names))
		for i, n := range names {
			ids[i] = g.identity(n)
		}
		for _, ij := range eval.SampleGroupImpostors(ids, g.labels, g.impostors, g.seed) {
			ta, tb := res[ij[0]].Template, res[ij[1]].Template
			if ta == nil || tb == nil {
				rep.GeneratedNoFace++
				continue
			}
			rep.GeneratedImpostors++
			gp = append(gp, eval.GroupPair{Score: float64(facegate.Similarity(ta, tb)), A: ids[ij[0]], B: ids[ij[1]]})
		}
	}
	rep.FairnessReport = eval.GroupFairness(gp, g.labels, eval.FairnessOptions{Threshold: g.threshold, MinPairs: g.minPairs,
		Thresholds: fairnessThresholds()})
	if g.plot != "" {
		rep.PlotFile = g.plot
	}
	return rep
}

// printRate formats a rate with its interval for the text reports.
func printRate(r eval.Rate) string {
	if r.Total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%% [%.2f%%, %.2f%%]", 100*r.Rate, 100*r.Low, 100*r.High)
}

func printSpread(w io.Writer, name string, sp eval.Spread) {
	switch {
	case len(sp.Groups) == 0:
		fmt.Fprintf(w, "  %s spread: no group has enough trials", name)
	case sp.Max == 0:
		fmt.Fprintf(w, "  %s spread over %d groups: none (every group at 0)", name, len(sp.Groups))
	case sp.Ratio != nil:
		fmt.Fprintf(w, "  %s spread over %d groups: max/min %.2f (%s %.4f / %s %.4f), difference %.4f", name, len(sp.Groups),
			*sp.Ratio, sp.MaxGroup, sp.Max, sp.MinGroup, sp.Min, sp.Difference)
	default:
		fmt.Fprintf(w, "  %s spread over %d groups: max/min undefined (lowest is 0: %s), max %s %.4f, difference %.4f", name,
			len(sp.Groups), sp.MinGroup, sp.MaxGroup, sp.Max, sp.Difference)
	}
	if len(sp.Insufficient) > 0 {
		fmt.Fprintf(w, "; insufficient: %s", strings.Join(sp.Insufficient, ", "))
	}
	fmt.Fprintln(w)
}

func printVerifyFairness(w io.Writer, r *FairnessVerifyReport) {
	fmt.Fprintf(w, "per group at threshold %.4f (%s), groups from %s, identities from %s, 95%% Wilson intervals:\n",
		r.Threshold, r.ThresholdSource, r.GroupsFile, r.IdentitySource)
	fmt.Fprintf(w, "  %-16s %5s %8s  %-28s %8s  %s\n", "group", "ids", "genuine", "FNMR", "impostor", "FMR")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "  %-16s %5d %8d  %-28s %8d  %s\n", g.Group, g.Identities, g.FNMR.Total, printRate(g.FNMR), g.FMR.Total, printRate(g.FMR))
	}
	fmt.Fprintf(w, "  cross-group impostor pairs %d: FMR %s\n", r.CrossGroupFMR.Total, printRate(r.CrossGroupFMR))
	printSpread(w, "FMR", r.FMRSpread)
	printSpread(w, "FNMR", r.FNMRSpread)
	fmt.Fprintf(w, "  left out: %d genuine and %d impostor pairs with an unlabelled side (%d identities), %d genuine pairs across groups\n",
		r.UnlabelledGenuine, r.UnlabelledImpostor, len(r.UnlabelledIdentities), r.GenuineCrossGroup)
	if r.GeneratedImpostors+r.GeneratedNoFace > 0 {
		fmt.Fprintf(w, "  within-group impostors: %d generated pairs scored (%d without a face skipped), replacing %d of the pair list\n",
			r.GeneratedImpostors, r.GeneratedNoFace, r.ListImpostorsReplaced)
	}
	if r.PlotFile != "" {
		fmt.Fprintf(w, "  per-group plot: %s\n", r.PlotFile)
	}
}

// FairnessIdentifyReport is the per-group report of 'eval identify --groups' (--fairness-out, and "fairness" in
// the main report): eval.IdentFairnessReport's fields plus where its inputs came from. Each group's
// operating_points are at the thresholds of the whole run's FPIR targets (0.01 and 0.1).
type FairnessIdentifyReport struct {
	eval.IdentFairnessReport
	ThresholdSource string `json:"threshold_source"`
	GroupsFile      string `json:"groups_file"`
	PlotFile        string `json:"plot_png,omitempty"`
}

// identifyFairness computes the per-group report of 'eval identify'; a probe's identity is its person folder.
func identifyFairness(g *fairnessFlags, ps []eval.Probe, ir eval.IdentResult) (*FairnessIdentifyReport, error) {
	gp := make([]eval.GroupProbe, len(ps))
	labelled := 0
	for i, p := range ps {
		gp[i] = eval.GroupProbe{Probe: p}
		if g.labels.Has(p.Truth) {
			labelled++
		}
	}
	if labelled == 0 {
		return nil, fmt.Errorf("no probe's person folder is an identity of %s (see docs/fairness.md)", g.groups)
	}
	var ts []float64
	for _, fpir := range []float64{1e-2, 1e-1} {
		if t, ok := ir.Thresholds[fpir]; ok {
			ts = append(ts, t)
		}
	}
	rep := &FairnessIdentifyReport{ThresholdSource: g.thrSource, GroupsFile: g.groups, PlotFile: g.plot,
		IdentFairnessReport: eval.GroupIdentify(gp, g.labels, eval.FairnessOptions{Threshold: g.threshold, MinPairs: g.minPairs, Thresholds: ts})}
	return rep, nil
}

func printIdentifyFairness(w io.Writer, r *FairnessIdentifyReport) {
	fmt.Fprintf(w, "per group at threshold %.4f (%s), groups from %s, 95%% Wilson intervals:\n", r.Threshold, r.ThresholdSource, r.GroupsFile)
	fmt.Fprintf(w, "  %-16s %5s %8s  %-28s %-28s %s\n", "group", "ids", "searches", "rank-1", "FNIR", "FPIR")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "  %-16s %5d %8d  %-28s %-28s %s\n", g.Group, g.Identities, g.Rank1.Total, printRate(g.Rank1), printRate(g.FNIR), printRate(g.FPIR))
	}
	fmt.Fprintf(w, "  FPIR measured on: %s\n", r.FPIRMethod)
	printSpread(w, "FNIR", r.FNIRSpread)
	printSpread(w, "FPIR", r.FPIRSpread)
	fmt.Fprintf(w, "  left out: %d searches of unlabelled identities (%d identities)\n", r.UnlabelledSearches, len(r.UnlabelledIdentities))
	if r.PlotFile != "" {
		fmt.Fprintf(w, "  per-group plot: %s\n", r.PlotFile)
	}
}
