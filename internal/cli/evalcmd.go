package cli

import (
	"encoding/json"
	"fmt"
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
)

func runEval(env *Env, args []string) error {
	if len(args) == 0 || args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprint(env.Stderr, `Usage: facegate eval <verify|identify|calibrate> [flags]

  verify     1:1 accuracy on a pair list (LFW pairs.txt layout or CSV a,b,same): 10-fold accuracy, TAR@FAR, ROC
  identify   1:N on a folder-per-person tree: rank-1, rank-5, FNIR@FPIR
  calibrate  decision thresholds for target false-match rates from a folder-per-person tree
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
	}
	return usagef("unknown eval mode %q (want verify, identify or calibrate)", args[0])
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
	prog := eval.NewProgress(env.Stderr, label, len(paths))
	start := time.Now()
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res[i] = embedOne(e, paths[i])
				prog.Add(1)
			}
		}()
	}
	for i := range paths {
		if env.Ctx != nil && env.Ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	prog.Done()
	return res, time.Since(start)
}

func embedOne(e *engine.Engine, path string) templateResult {
	img, _, err := imgio.DecodeFile(path, imgio.DefaultLimits)
	if err != nil {
		return templateResult{Err: err}
	}
	faces, err := e.Analyze(img, engine.Options{PrimaryOnly: true, Embed: true})
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
}

func runEvalVerify(env *Env, args []string) error {
	var f evalFlags
	var th thresholdFlags
	fs := newFlags(env, "eval verify", "eval verify --pairs FILE --images DIR [--roc OUT.png] [--json] [--out REPORT.json]")
	f.register(fs)
	th.register(fs)
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
	var paths []string
	for _, p := range pairs {
		for _, name := range []string{p.A, p.B} {
			if _, ok := index[name]; !ok {
				index[name] = len(paths)
				paths = append(paths, filepath.Join(*images, name))
			}
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
			rep.FailedImages[rel] = r.Err.Error()
		} else if r.Template == nil {
			rep.NoFaceImages = append(rep.NoFaceImages, rel)
		}
	}
	scored := make([]eval.Scored, len(pairs))
	var impostor []float64
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
		match := s >= thr
		if match == p.Same {
			correct++
		}
		if p.Same {
			same++
			if !match {
				fnm++
			}
		} else {
			impostor = append(impostor, s)
			if match {
				fm++
			}
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
	case ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".pgm", ".ppm":
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
}

func runEvalIdentify(env *Env, args []string) error {
	var f evalFlags
	fs := newFlags(env, "eval identify", "eval identify --root DIR [--gallery N] [--json] [--server URL --key KEY]")
	f.register(fs)
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
	})
}
