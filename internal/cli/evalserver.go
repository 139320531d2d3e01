package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/eval"
)

// serverEval runs 'eval identify' through a facegate server: each person becomes a subject enrolled over HTTP,
// each probe is a search. The enrolment gate is opened wide (any size, pose, quality, eyes), so the server sees
// the same faces the local engine evaluation does, and the figures can be compared one for one.
type serverEval struct {
	server, key string
	keep        bool
}

// evalSearchTopK is how many candidates each probe search asks for: enough for rank-5 and for the best
// wrong-identity score that the open-set figure needs.
const evalSearchTopK = 10

func (so *serverEval) run(env *Env, f *evalFlags, root string, perGallery, maxPeople int) error {
	if f.workers < 1 {
		return usagef("--workers must be at least 1")
	}
	c, err := api.ClientFromEnv(so.server, so.key)
	if err != nil {
		return usagef("%v", err)
	}
	c.Retries = 20 // a rate-limited server slows the evaluation down rather than failing it
	people, err := readTree(root)
	if err != nil {
		return err
	}
	if maxPeople > 0 && len(people) > maxPeople {
		people = people[:maxPeople]
	}
	ctx := env.Ctx
	if err := c.Health(ctx); err != nil {
		return fmt.Errorf("server %s: %w", so.server, err)
	}
	name := fmt.Sprintf("eval-%s", time.Now().UTC().Format("20060102-150405.000"))
	purpose := facegate.PurposeResearch
	if _, err := c.CreateGallery(ctx, api.GalleryRequest{Name: &name, NoThumbnails: evalPtr(true), Purpose: &purpose,
		ConsentExempt: evalPtr(true), LegalBasis: evalPtr("evaluation on a public research dataset: " + filepath.Base(filepath.Clean(root)))}); err != nil {
		return fmt.Errorf("creating gallery %s: %w", name, err)
	}
	if !so.keep {
		defer func() {
			if err := c.DeleteGallery(ctx, name); err != nil {
				fmt.Fprintf(env.Stderr, "warning: deleting gallery %s: %v\n", name, err)
			}
		}()
	}
	rep := IdentifyReport{People: len(people), FNIRAtFPIR: map[string]float64{}, ThrAtFPIR: map[string]float64{},
		Server: so.server, ServerGallery: name,
		Method: "every probe is mated; the non-mated search for each probe is the same search with its own identity left out (best wrong-identity score)"}
	wide := api.EnrolOptions{TakeLargest: true, AllowEyesClosed: true, AllowDuplicate: true, MinSize: evalPtr[float32](0), MinQuality: evalPtr[float32](0), MinSharpness: evalPtr[float32](0),
		MaxYaw: evalPtr[float32](180), MaxPitch: evalPtr[float32](180)}

	type job struct {
		person int
		path   string
		probe  bool
	}
	var jobs []job
	for i, p := range people {
		for j, img := range p.images {
			jobs = append(jobs, job{i, img, j >= perGallery})
		}
	}
	start := time.Now()
	// Enrolment first: every subject, then its gallery images.
	subjects := make([]string, len(people))
	enrolled := make([]atomic.Int32, len(people))
	var noFace, failed atomic.Int32
	var firstErr error
	var mu sync.Mutex
	fail := func(err error) {
		failed.Add(1)
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	prog := eval.NewProgress(env.Stderr, "enrolling", countJobs(len(jobs), func(i int) bool { return !jobs[i].probe }))
	evalParallel(env, f.workers, len(people), func(i int) {
		ext := people[i].name
		created, err := c.CreateSubject(ctx, name, api.SubjectRequest{ExternalID: &ext, DisplayName: &ext}, wide)
		if err != nil {
			fail(err)
			return
		}
		subjects[i] = created.Subject.ID
		for _, path := range people[i].images[:min(perGallery, len(people[i].images))] {
			data, err := os.ReadFile(path)
			if err == nil {
				_, err = c.Enrol(ctx, name, subjects[i], data, wide)
			}
			prog.Add(1)
			switch {
			case err == nil:
				enrolled[i].Add(1)
			case api.IsCode(err, api.CodeNoFace):
				noFace.Add(1)
			default:
				fail(fmt.Errorf("%s: %w", path, err))
			}
		}
	})
	prog.Done()
	for i := range people {
		if n := int(enrolled[i].Load()); n > 0 {
			rep.GalleryPeople++
			rep.GalleryFaces += n
		}
	}
	// Then the probes of every person with at least one enrolled face.
	var probeJobs []job
	for _, j := range jobs {
		if j.probe && enrolled[j.person].Load() > 0 {
			probeJobs = append(probeJobs, j)
		}
	}
	probes := make([]*eval.Probe, len(probeJobs))
	prog = eval.NewProgress(env.Stderr, "searching", len(probeJobs))
	evalParallel(env, f.workers, len(probeJobs), func(i int) {
		defer prog.Add(1)
		j := probeJobs[i]
		data, err := os.ReadFile(j.path)
		if err != nil {
			fail(err)
			return
		}
		sr, err := c.Search(ctx, name, data, evalSearchTopK)
		if err != nil {
			fail(fmt.Errorf("%s: %w", j.path, err))
			return
		}
		if len(sr.Faces) == 0 {
			noFace.Add(1)
			return
		}
		faces := make([]facegate.Face, len(sr.Faces))
		for k := range sr.Faces {
			faces[k] = sr.Faces[k].Face
		}
		top := sr.Faces[engine.Primary(faces, sr.Width, sr.Height)]
		scores := map[string]float64{}
		for _, cand := range top.Candidates {
			scores[cand.ExternalID] = float64(cand.Score)
		}
		probes[i] = &eval.Probe{Truth: people[j.person].name, Scores: scores}
	})
	prog.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.NoFace, rep.Failed = int(noFace.Load()), int(failed.Load())
	rep.Seconds = time.Since(start).Seconds()
	if firstErr != nil {
		fmt.Fprintf(env.Stderr, "warning: %d requests failed; the first: %v\n", rep.Failed, firstErr)
		var ae *api.Error
		if errors.As(firstErr, &ae) && (ae.Status == 401 || ae.Status == 403) {
			return firstErr
		}
	}
	var ps []eval.Probe
	for _, p := range probes {
		if p != nil {
			ps = append(ps, *p)
		}
	}
	return finishIdentify(env, f, rep, ps, perGallery)
}

func countJobs(n int, keep func(int) bool) int {
	c := 0
	for i := range n {
		if keep(i) {
			c++
		}
	}
	return c
}

// evalParallel calls fn(0..n-1) on workers goroutines, stopping early when the context ends.
func evalParallel(env *Env, workers, n int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		if env.Ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

func evalPtr[T any](v T) *T { return &v }
