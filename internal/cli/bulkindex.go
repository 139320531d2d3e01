package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/eval"
)

// IndexReport is the report of 'facegate index'.
type IndexReport struct {
	Root            string         `json:"root"`
	Gallery         string         `json:"gallery"`
	People          int            `json:"people"`
	SubjectsCreated int            `json:"subjects_created"`
	Images          int            `json:"images"`
	Enrolled        int            `json:"enrolled"`
	Skipped         int            `json:"skipped_already_enrolled"`
	Rejected        int            `json:"rejected"`
	NotImages       int            `json:"not_images"`
	Reasons         map[string]int `json:"rejected_by_reason"`
	Rejects         []IndexReject  `json:"rejects"`
	Interrupted     bool           `json:"interrupted,omitempty"`
	Seconds         float64        `json:"seconds"`
}

// IndexReject is one image the server did not enrol, with its reasons.
type IndexReject struct {
	File    string          `json:"file"`
	Subject string          `json:"subject"`
	Reasons []api.Rejection `json:"reasons"`
}

// indexPerson is one folder of the tree.
type indexPerson struct {
	name   string
	images []string
}

// listPeople reads a folder-per-person tree, counting files that are not images.
func listPeople(root string) ([]indexPerson, int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, 0, fmt.Errorf("reading %s: %w", root, err)
	}
	var people []indexPerson
	notImages := 0
	for _, d := range entries {
		if strings.HasPrefix(d.Name(), ".") {
			continue
		}
		dir := filepath.Join(root, d.Name())
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			notImages++ // a loose file at the top level belongs to nobody
			continue
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			return nil, 0, fmt.Errorf("reading %s: %w", dir, err)
		}
		p := indexPerson{name: d.Name()}
		for _, f := range files {
			if strings.HasPrefix(f.Name(), ".") || f.IsDir() {
				continue
			}
			if isImageName(f.Name()) {
				p.images = append(p.images, filepath.Join(dir, f.Name()))
			} else {
				notImages++
			}
		}
		sort.Strings(p.images)
		if len(p.images) > 0 {
			people = append(people, p)
		}
	}
	if len(people) == 0 {
		return nil, notImages, fmt.Errorf("%s has no person folders with images", root)
	}
	return people, notImages, nil
}

func runIndex(env *Env, args []string) error {
	var rf remoteFlags
	var ef enrolFlags
	fs := newFlags(env, "index", `index DIR --gallery G [--create-gallery] [--take-largest] [--allow-duplicate] [--min-quality Q] [--workers N] [--report FILE] [--json]

Enrols a folder-per-person tree: each subfolder of DIR is a subject (external id: the folder's name, display
name: the same with _ as spaces), each image in it one face. Files that are not images are skipped and counted.
Resumable: a photo whose SHA-256 is the source of one of the subject's faces is skipped without uploading, so
after Ctrl-C or a failure the same command carries on where it stopped. Ends with a report: subjects created,
faces enrolled, skipped, and rejected photos with their reasons. Exit status 1 on interruption or when the
server fails; rejected photos alone do not fail the run.`)
	rf.register(fs)
	ef.register(fs)
	gallery := fs.String("gallery", "", "gallery id or name (required)")
	create := fs.Bool("create-gallery", false, "create the gallery when it does not exist")
	purpose := fs.String("purpose", "", "with --create-gallery: the gallery's purpose (default access_control): "+purposeList())
	legalBasis := fs.String("legal-basis", "", "with --create-gallery: the recorded legal basis that exempts the gallery from consent (e.g. a public research dataset's licence)")
	workers := fs.Int("workers", 2, "people enrolled in parallel")
	reportFile := fs.String("report", "", "also write the JSON report to this file")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *gallery == "" {
		return usagef("one folder and --gallery are required")
	}
	if *workers < 1 {
		return usagef("--workers must be at least 1")
	}
	root := pos[0]
	people, notImages, err := listPeople(root)
	if err != nil {
		return err
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	ctx := env.Ctx
	if _, err := c.Gallery(ctx, *gallery); err != nil {
		if !api.IsCode(err, api.CodeNotFound) || !*create {
			if api.IsCode(err, api.CodeNotFound) {
				return fmt.Errorf("gallery %q does not exist (add --create-gallery to create it)", *gallery)
			}
			return remoteErr(ctx, &rf, err)
		}
		req := api.GalleryRequest{Name: gallery}
		if *purpose != "" {
			p := facegate.Purpose(*purpose)
			req.Purpose = &p
		}
		if *legalBasis != "" {
			req.LegalBasis, req.ConsentExempt = legalBasis, evalPtr(true)
		}
		if _, err := c.CreateGallery(ctx, req); err != nil {
			return remoteErr(ctx, &rf, err)
		}
	}
	rep := IndexReport{Root: root, Gallery: *gallery, People: len(people), NotImages: notImages, Reasons: map[string]int{}, Rejects: []IndexReject{}}
	for _, p := range people {
		rep.Images += len(p.images)
	}
	start := time.Now()
	prog := eval.NewProgress(env.Stderr, "indexing", rep.Images)
	var mu sync.Mutex
	var fatal error
	stop := func(err error) {
		mu.Lock()
		if fatal == nil {
			fatal = err
		}
		mu.Unlock()
	}
	stopped := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return fatal != nil || ctx.Err() != nil
	}
	enrolPerson := func(p indexPerson) {
		display := strings.ReplaceAll(p.name, "_", " ")
		sub, created, err := findOrCreateSubject(ctx, c, *gallery, p.name, display, ef.consentFor(display), ef.guardian != "")
		if err != nil {
			if ctx.Err() == nil {
				stop(fmt.Errorf("subject %s: %w", p.name, err))
			}
			return
		}
		// What the subject already has, by image hash: a rerun skips those without uploading them.
		have := map[string]bool{}
		faces, err := c.Faces(ctx, *gallery, sub.ID)
		if err != nil {
			if ctx.Err() == nil {
				stop(fmt.Errorf("faces of %s: %w", p.name, err))
			}
			return
		}
		for _, f := range faces {
			have[f.Source] = true
		}
		mu.Lock()
		if created {
			rep.SubjectsCreated++
		}
		mu.Unlock()
		for _, path := range p.images {
			if stopped() {
				return
			}
			data, err := os.ReadFile(path)
			if err != nil {
				stop(fileErr(path, err))
				return
			}
			sum := sha256.Sum256(data)
			source := hex.EncodeToString(sum[:])
			if have[source] {
				mu.Lock()
				rep.Skipped++
				mu.Unlock()
				prog.Add(1)
				continue
			}
			res, err := c.Enrol(ctx, *gallery, sub.ID, data, ef.options())
			reasons, rejected := rejection(err)
			mu.Lock()
			switch {
			case err == nil && res.Duplicate: // the server's dedup: a face from these bytes got in meanwhile
				rep.Skipped++
				have[source] = true
			case err == nil:
				rep.Enrolled++
				have[source] = true // a copy of the photo later in the folder is skipped
			case rejected:
				rep.Rejected++
				for _, r := range reasons {
					rep.Reasons[r.Code]++
				}
				rep.Rejects = append(rep.Rejects, IndexReject{File: path, Subject: p.name, Reasons: reasons})
			default:
				mu.Unlock()
				if ctx.Err() == nil {
					stop(fmt.Errorf("%s: %w", path, err))
				}
				return
			}
			mu.Unlock()
			prog.Add(1)
		}
	}
	evalParallel(env, *workers, len(people), func(i int) {
		if !stopped() {
			enrolPerson(people[i])
		}
	})
	prog.Done()
	rep.Seconds = time.Since(start).Seconds()
	rep.Interrupted = ctx.Err() != nil
	sort.Slice(rep.Rejects, func(i, j int) bool { return rep.Rejects[i].File < rep.Rejects[j].File })
	// The report goes out however the run ended: after an interruption or a failure it says what got in.
	if *reportFile != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*reportFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if *asJSON {
		if err := writeJSONTo(env.Stdout, rep); err != nil {
			return err
		}
	} else {
		printIndexReport(env, &rep)
	}
	switch {
	case rep.Interrupted:
		return errors.New("interrupted; run the same command again to resume (photos already enrolled are skipped)")
	case fatal != nil:
		return remoteErr(ctx, &rf, fatal)
	}
	return nil
}

func printIndexReport(env *Env, rep *IndexReport) {
	w := env.Stdout
	fmt.Fprintf(w, "%s -> gallery %s: %d people (%d new subjects), %d images: %d enrolled, %d already enrolled, %d rejected; %d files not images (%.1fs)\n",
		rep.Root, rep.Gallery, rep.People, rep.SubjectsCreated, rep.Images, rep.Enrolled, rep.Skipped, rep.Rejected, rep.NotImages, rep.Seconds)
	if len(rep.Reasons) > 0 {
		codes := make([]string, 0, len(rep.Reasons))
		for c := range rep.Reasons {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = fmt.Sprintf("%s %d", c, rep.Reasons[c])
		}
		fmt.Fprintf(w, "rejected by reason: %s\n", strings.Join(parts, ", "))
	}
	for _, r := range rep.Rejects {
		msgs := make([]string, len(r.Reasons))
		for i, x := range r.Reasons {
			msgs[i] = x.Code + ": " + x.Message
		}
		fmt.Fprintf(w, "  %s: %s\n", r.File, strings.Join(msgs, "; "))
	}
}

func purposeList() string {
	var s []string
	for _, p := range facegate.Purposes {
		s = append(s, string(p))
	}
	return strings.Join(s, ", ")
}
