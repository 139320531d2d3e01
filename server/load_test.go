package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// LoadReport is what TestLoad measures; docs/performance.md quotes it.
type LoadReport struct {
	Subjects      int     `json:"subjects"`
	RealSubjects  int     `json:"real_subjects"`
	ProbeImages   int     `json:"probe_images"`
	SeedSeconds   float64 `json:"seed_seconds"`
	IndexLoadSecs float64 `json:"index_load_seconds"`
	Runs          []LoadRun
}

// LoadRun is one fixed-duration run with some number of concurrent clients.
type LoadRun struct {
	Clients     int     `json:"clients"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	PerSecond   float64 `json:"requests_per_second"`
	FacesPerSec float64 `json:"faces_per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	// Correct counts searches of an enrolled person's photo whose top face matched that person; Wrong counts
	// any face matched to someone else.
	Correct, Wrong int
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestLoad is the bounded load test: concurrent clients search a gallery of 10,000 subjects through the real
// HTTP server on loopback. It is opt-in (FACEGATE_LOAD=1, or 'make loadtest') because it runs for minutes.
//
// The gallery holds one real subject per person of face_recognition_examples (enrolled through the API from
// their first photo) and synthetic subjects with random unit templates up to FACEGATE_LOAD_SUBJECTS (10,000):
// the cost of a 1:N search does not depend on what the templates show, and the real subjects make the answers
// checkable. Probes are every photo of those people. FACEGATE_LOAD_CLIENTS (16) clients search for
// FACEGATE_LOAD_SECONDS (30) seconds, after a one-client run for the baseline latency.
// FACEGATE_LOAD_OUT names a file for the JSON report. It needs the models: it measures the real engine's cost per
// request, which docs/performance.md quotes, and checks real answers.
func TestLoad(t *testing.T) {
	if os.Getenv("FACEGATE_LOAD") == "" {
		t.Skip("load test: set FACEGATE_LOAD=1 or run 'make loadtest'")
	}
	subjects := envInt("FACEGATE_LOAD_SUBJECTS", 10000)
	clients := envInt("FACEGATE_LOAD_CLIENTS", 16)
	dur := time.Duration(envInt("FACEGATE_LOAD_SECONDS", 30)) * time.Second
	root := testutil.Shared(t, "face_recognition_examples/identity")
	eng := testEngine(t)
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep := LoadReport{Subjects: subjects}

	// Synthetic subjects go straight into the store, before the server starts, as a restored backup would.
	g := &facegate.Gallery{Name: "load", Purpose: facegate.PurposeResearch, ConsentExempt: true, LegalBasis: "load test on public example photos and synthetic templates"}
	g.Threshold, g.FMR = 0.3326, 1e-3
	if err := st.CreateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	people, _ := os.ReadDir(root)
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for i := range subjects - len(people) {
		tmpl := testutil.UnitTemplate(rng, facegate.TemplateDim)
		sub := &facegate.Subject{GalleryID: g.ID, ExternalID: fmt.Sprintf("synthetic-%05d", i)}
		if err := st.CreateSubjectWithFaces(ctx, sub, []*facegate.FaceRecord{{Template: tmpl}}); err != nil {
			t.Fatal(err)
		}
	}
	rep.SeedSeconds = time.Since(start).Seconds()

	start = time.Now()
	// One key stands for the whole fleet of clients here, so it may use every analysis slot (the default share of
	// one key is half of them).
	srv, err := server.New(ctx, server.Config{Store: st, Engine: eng, Index: index.New(facegate.TemplateDim), RatePerSecond: -1,
		MaxAnalysesPerKey: 2 * runtime.NumCPU(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rep.IndexLoadSecs = time.Since(start).Seconds()
	secret, err := srv.EnsureAdminKey(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer srv.Close()
	c, err := api.NewClient(hs.URL, secret, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Real subjects through the API; every photo is a probe.
	type probe struct {
		who  string
		data []byte
	}
	var probes []probe
	for _, p := range people {
		files, _ := os.ReadDir(filepath.Join(root, p.Name()))
		enrolled := false
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(root, p.Name(), f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			probes = append(probes, probe{p.Name(), data})
			if !enrolled {
				name := p.Name()
				if _, err := c.CreateSubject(ctx, "load", api.SubjectRequest{ExternalID: &name}, api.EnrolOptions{TakeLargest: true}, data); err == nil {
					enrolled = true
					rep.RealSubjects++
				}
			}
		}
	}
	rep.ProbeImages = len(probes)
	if info, err := c.Gallery(ctx, "load"); err != nil || info.Subjects != subjects {
		t.Fatalf("gallery holds %+v (%v), want %d subjects", info, err, subjects)
	}

	run := func(clients int) LoadRun {
		var mu sync.Mutex
		var lat []time.Duration
		out := LoadRun{Clients: clients}
		faces := 0
		deadline := time.Now().Add(dur)
		begin := time.Now()
		var wg sync.WaitGroup
		for w := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; time.Now().Before(deadline); i += clients {
					p := probes[i%len(probes)]
					t0 := time.Now()
					sr, err := c.Search(ctx, "load", p.data, 5)
					d := time.Since(t0)
					mu.Lock()
					if err != nil {
						out.Errors++
						t.Errorf("search: %v", err)
					} else {
						lat = append(lat, d)
						faces += len(sr.Faces)
						for k, f := range sr.Faces {
							if f.Result != api.ResultMatch {
								continue
							}
							if f.Candidates[0].ExternalID == p.who && k == 0 {
								out.Correct++
							} else if f.Candidates[0].ExternalID != p.who && len(sr.Faces) == 1 {
								out.Wrong++
							}
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		out.Seconds = time.Since(begin).Seconds()
		out.Requests = len(lat)
		out.PerSecond = float64(out.Requests) / out.Seconds
		out.FacesPerSec = float64(faces) / out.Seconds
		slices.Sort(lat)
		q := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		out.P50ms, out.P90ms, out.P99ms, out.MaxMs = q(0.50), q(0.90), q(0.99), q(1)
		return out
	}
	for _, n := range []int{1, clients} {
		r := run(n)
		rep.Runs = append(rep.Runs, r)
		t.Logf("%2d clients: %d requests in %.1fs, %.1f req/s (%.1f faces/s), p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms, errors %d, correct %d, wrong %d",
			r.Clients, r.Requests, r.Seconds, r.PerSecond, r.FacesPerSec, r.P50ms, r.P90ms, r.P99ms, r.MaxMs, r.Errors, r.Correct, r.Wrong)
		if r.Errors > 0 || r.Wrong > 0 {
			t.Errorf("%d errors, %d wrong matches under load", r.Errors, r.Wrong)
		}
	}
	t.Logf("gallery %d subjects (%d real), seeded in %.1fs, index loaded in %.2fs; %d probe photos",
		rep.Subjects, rep.RealSubjects, rep.SeedSeconds, rep.IndexLoadSecs, rep.ProbeImages)
	if out := os.Getenv("FACEGATE_LOAD_OUT"); out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			t.Error(err)
		}
	}
}
