package cli

import (
	"encoding/json"
	"fmt"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
)

type compareResult struct {
	Similarity float32       `json:"similarity"`
	Match      bool          `json:"match"`
	Threshold  float64       `json:"threshold"`
	FMR        float64       `json:"fmr,omitempty"`
	Source     string        `json:"threshold_source"`
	FaceA      facegate.Face `json:"face_a"`
	FaceB      facegate.Face `json:"face_b"`
	FacesInA   int           `json:"faces_in_a"`
	FacesInB   int           `json:"faces_in_b"`
}

// thresholdFlags are --fmr and --threshold, shared by compare and eval.
type thresholdFlags struct {
	fmr       float64
	threshold float64
}

func (t *thresholdFlags) register(fsRegister interface {
	Float64Var(p *float64, name string, value float64, usage string)
}) {
	fsRegister.Float64Var(&t.threshold, "threshold", 0, "decision threshold on cosine similarity (overrides --fmr)")
	fsRegister.Float64Var(&t.fmr, "fmr", 0, "target false-match rate; picks the calibrated threshold for it (default: the model pack's)")
}

// resolve returns the threshold to use and where it came from.
func (t *thresholdFlags) resolve() (value, fmr float64, source string, err error) {
	pack := modelpack.Manifest()
	switch {
	case t.threshold != 0:
		if t.threshold < -1 || t.threshold > 1 {
			return 0, 0, "", usagef("--threshold must be within [-1, 1]")
		}
		return t.threshold, 0, "--threshold", nil
	case t.fmr != 0:
		v, ok := pack.ThresholdFor(t.fmr)
		if !ok {
			return 0, 0, "", usagef("--fmr %g is outside the calibrated range %s", t.fmr, pack.FMRRange())
		}
		return v, t.fmr, "calibrated for --fmr", nil
	}
	return pack.Threshold.Value, pack.Threshold.FMR, "model pack default", nil
}

func runCompare(env *Env, args []string) error {
	var c common
	var th thresholdFlags
	fs := newFlags(env, "compare", "compare [--json] [--fmr R | --threshold T] IMAGE_A IMAGE_B")
	c.register(fs)
	th.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 2 {
		return usagef("compare takes exactly two images, got %d", len(files))
	}
	thr, fmr, source, err := th.resolve()
	if err != nil {
		return err
	}
	e, _, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()
	res := compareResult{Threshold: thr, FMR: fmr, Source: source}
	var faces [2]facegate.Face
	var counts [2]int
	for i, file := range files {
		img, _, err := imgio.DecodeFile(file, imgio.DefaultLimits)
		if err != nil {
			return fileErr(file, err)
		}
		all, err := e.Analyze(env.Ctx, img, engine.Options{})
		if err != nil {
			return fileErr(file, err)
		}
		if len(all) == 0 {
			return fileErr(file, engine.ErrNoFace)
		}
		counts[i] = len(all)
		k := engine.Primary(all, img.W, img.H)
		f, err := e.Embed(env.Ctx, img, all[k])
		if err != nil {
			return fileErr(file, err)
		}
		faces[i] = f
	}
	res.FaceA, res.FaceB, res.FacesInA, res.FacesInB = faces[0], faces[1], counts[0], counts[1]
	res.Similarity = facegate.Similarity(faces[0].Template, faces[1].Template)
	res.Match = float64(res.Similarity) >= thr
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	verdict := "different people"
	if res.Match {
		verdict = "same person"
	}
	fmt.Fprintf(env.Stdout, "similarity %.4f  threshold %.4f (%s", res.Similarity, thr, source)
	if fmr > 0 {
		fmt.Fprintf(env.Stdout, ", FMR %g", fmr)
	}
	fmt.Fprintf(env.Stdout, ")  => %s\n", verdict)
	for i, n := range counts {
		if n > 1 {
			fmt.Fprintf(env.Stdout, "note: %s has %d faces; compared the most prominent one\n", files[i], n)
		}
	}
	return nil
}
