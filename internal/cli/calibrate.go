package cli

import (
	"fmt"
	"math"
	"sort"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/eval"
	"github.com/facegate/facegate/internal/modelpack"
)

// CalibrationReport is the JSON report of 'eval calibrate'; Table is in the model pack's format.
type CalibrationReport struct {
	People   int                   `json:"people"`
	Impostor int                   `json:"impostor_pairs"`
	Genuine  int                   `json:"genuine_pairs"`
	Table    []modelpack.Operating `json:"table"`
	FNMR     map[string]float64    `json:"fnmr_at_fmr"`
	Method   string                `json:"method"`
	Seconds  float64               `json:"seconds"`
}

func runEvalCalibrate(env *Env, args []string) error {
	var f evalFlags
	fs := newFlags(env, "eval calibrate", "eval calibrate --root DIR [--per-person N] [--json]")
	f.register(fs)
	root := fs.String("root", "", "folder with one subfolder of images per person")
	per := fs.Int("per-person", 4, "templates per person (the first N images by name)")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *root == "" {
		return usagef("--root is required")
	}
	if *per < 1 {
		return usagef("--per-person must be at least 1")
	}
	people, results, took, err := embedTree(env, &f, *root, *per, 0)
	if err != nil {
		return err
	}
	// Impostor pairs: first template of each person against the first of every other person.
	// Genuine pairs: every pair of templates within a person.
	first := map[int][]float32{}
	byPerson := map[int][][]float32{}
	for i, rs := range results {
		for _, r := range rs {
			if r.Template == nil {
				continue
			}
			if _, ok := first[i]; !ok {
				first[i] = r.Template
			}
			byPerson[i] = append(byPerson[i], r.Template)
		}
	}
	var firsts [][]float32
	for i := range people {
		if t, ok := first[i]; ok {
			firsts = append(firsts, t)
		}
	}
	var impostor, genuine []float64
	for i := range firsts {
		for j := i + 1; j < len(firsts); j++ {
			impostor = append(impostor, float64(facegate.Similarity(firsts[i], firsts[j])))
		}
	}
	for _, ts := range byPerson {
		for i := range ts {
			for j := i + 1; j < len(ts); j++ {
				genuine = append(genuine, float64(facegate.Similarity(ts[i], ts[j])))
			}
		}
	}
	if len(impostor) < 100 {
		return fmt.Errorf("only %d impostor pairs: calibration needs more people", len(impostor))
	}
	sort.Float64s(genuine)
	rep := CalibrationReport{People: len(firsts), Impostor: len(impostor), Genuine: len(genuine), FNMR: map[string]float64{}, Seconds: took.Seconds(),
		Method: fmt.Sprintf("threshold = lowest score with impostor scores >= it at most FMR x %d cross-person pairs (first image of each person); FNMR from %d same-person pairs", len(impostor), len(genuine))}
	for _, fmr := range []float64{1e-1, 1e-2, 1e-3, 1e-4, 1e-5} {
		if fmr*float64(len(impostor)) < 10 {
			continue // too few impostor pairs to estimate this rate
		}
		t := eval.ThresholdForFMR(impostor, fmr)
		rep.Table = append(rep.Table, modelpack.Operating{FMR: fmr, Threshold: round4(t)})
		miss := sort.SearchFloat64s(genuine, t)
		if len(genuine) > 0 {
			rep.FNMR[fmt.Sprintf("%g", fmr)] = float64(miss) / float64(len(genuine))
		}
	}
	return f.emit(env, rep, func() {
		w := env.Stdout
		fmt.Fprintf(w, "people %d, impostor pairs %d, genuine pairs %d (%.1fs)\n", rep.People, rep.Impostor, rep.Genuine, rep.Seconds)
		for _, op := range rep.Table {
			fmt.Fprintf(w, "FMR %-7g threshold %.4f  FNMR %.4f\n", op.FMR, op.Threshold, rep.FNMR[fmt.Sprintf("%g", op.FMR)])
		}
	})
}

func round4(v float64) float64 {
	return math.Round(v*10000) / 10000
}
