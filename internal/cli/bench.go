package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// BenchReport is the JSON report of 'facegate bench'.
type BenchReport struct {
	Image      string             `json:"image"`
	Width      int                `json:"width"`
	Height     int                `json:"height"`
	Faces      int                `json:"faces"`
	Runs       int                `json:"runs"`
	Threads    int                `json:"threads"`
	CPUs       int                `json:"cpus"`
	MedianMS   map[string]float64 `json:"median_ms"`
	P90MS      map[string]float64 `json:"p90_ms"`
	Attributes []string           `json:"attributes,omitempty"`
}

var benchStages = []string{"decode", "detect", "landmarks", "align", "quality", "embed", "attributes", "total"}

func runBench(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "bench", "bench [--runs N] [--attributes LIST] [--json] [IMAGE]")
	c.register(fs)
	runs := fs.Int("runs", 50, "timed runs (after 3 warm-up runs)")
	attrs := fs.String("attributes", "", "also time these optional inferences (age, gender, expression, liveness, all)")
	asJSON := fs.Bool("json", false, "print JSON")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) > 1 {
		return usagef("bench takes at most one image")
	}
	if *runs < 1 {
		return usagef("--runs must be at least 1")
	}
	want, err := engine.ParseAttributes(splitList(*attrs))
	if err != nil {
		return usageError{err.Error()}
	}
	e, paths, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()
	file := ""
	if len(files) == 1 {
		file = files[0]
	} else {
		file = filepath.Join(filepath.Dir(paths.Models), "testimages", "sample1.jpg")
		if _, err := os.Stat(file); err != nil {
			return usagef("no IMAGE given and the default %s is missing (run 'make deps')", file)
		}
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fileErr(file, err)
	}
	samples := map[string][]float64{}
	var rep BenchReport
	for i := -3; i < *runs; i++ {
		var tm engine.Timings
		t0 := time.Now()
		img, _, err := imgio.Decode(data, imgio.DefaultLimits)
		if err != nil {
			return fileErr(file, err)
		}
		dec := time.Since(t0)
		faces, err := e.Analyze(env.Ctx, img, engine.Options{Embed: true, Attributes: want, Timings: &tm})
		if err != nil {
			return err
		}
		total := time.Since(t0)
		rep.Width, rep.Height, rep.Faces = img.W, img.H, len(faces)
		if i < 0 {
			continue
		}
		for k, d := range map[string]time.Duration{"decode": dec, "detect": tm.Detect, "landmarks": tm.Landmarks, "align": tm.Align,
			"quality": tm.Quality, "embed": tm.Embed, "attributes": tm.Attributes, "total": total} {
			samples[k] = append(samples[k], float64(d.Microseconds())/1000)
		}
	}
	rep.Image, rep.Runs, rep.CPUs = file, *runs, runtime.NumCPU()
	rep.Threads = max(c.threads, 1)
	for _, a := range want {
		rep.Attributes = append(rep.Attributes, string(a))
	}
	rep.MedianMS, rep.P90MS = map[string]float64{}, map[string]float64{}
	for k, v := range samples {
		sort.Float64s(v)
		rep.MedianMS[k] = v[len(v)/2]
		rep.P90MS[k] = v[len(v)*9/10]
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	w := env.Stdout
	fmt.Fprintf(w, "%s: %dx%d, %d faces, %d runs, %d threads per model on %d CPUs\n", file, rep.Width, rep.Height, rep.Faces, rep.Runs, rep.Threads, rep.CPUs)
	fmt.Fprintf(w, "%-11s %9s %9s\n", "stage", "median ms", "p90 ms")
	for _, k := range benchStages {
		if k == "attributes" && len(want) == 0 {
			continue
		}
		fmt.Fprintf(w, "%-11s %9.2f %9.2f\n", k, rep.MedianMS[k], rep.P90MS[k])
	}
	return nil
}

func splitList(s string) []string {
	return strings.Split(s, ",")
}
