package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/internal/testutil"
)

// linkTree builds a folder-per-person tree of symbolic links to the shared photos of the named people (all
// when none are named) and puts two text files beside the photos of the first person: notes.txt, which index
// skips, and scan.jpg, which the server rejects.
func linkTree(t *testing.T, people ...string) string {
	t.Helper()
	src := testutil.Shared(t, "face_recognition_examples/identity")
	if len(people) == 0 {
		entries, _ := os.ReadDir(src)
		for _, e := range entries {
			people = append(people, e.Name())
		}
	}
	root := t.TempDir()
	for i, p := range people {
		os.MkdirAll(filepath.Join(root, p), 0o755)
		files, _ := os.ReadDir(filepath.Join(src, p))
		for _, f := range files {
			abs, _ := filepath.Abs(filepath.Join(src, p, f.Name()))
			if err := os.Symlink(abs, filepath.Join(root, p, f.Name())); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			os.WriteFile(filepath.Join(root, p, "notes.txt"), []byte("not a photo"), 0o644)
			os.WriteFile(filepath.Join(root, p, "scan.jpg"), []byte("not a photo either"), 0o644)
		}
	}
	return root
}

func runCtx(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func indexReport(t *testing.T, out string) IndexReport {
	t.Helper()
	var rep IndexReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	return rep
}

// gallerySources returns the sources (image hashes) of each subject's faces by external ID, failing the test
// when a subject has two faces from one image, and checks that the index holds as many templates as the store
// has faces.
func gallerySources(t *testing.T, c *api.Client, gallery string) (map[string][]string, int) {
	t.Helper()
	ctx := context.Background()
	info, err := c.Gallery(ctx, gallery)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := c.Subjects(ctx, gallery, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	n := 0
	for _, s := range subs.Subjects {
		faces, err := c.Faces(ctx, gallery, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, f := range faces {
			if seen[f.Source] {
				t.Errorf("gallery %s: subject %s has two faces from image %s", gallery, s.ExternalID, f.Source)
			}
			seen[f.Source] = true
			out[s.ExternalID] = append(out[s.ExternalID], f.Source)
		}
		sort.Strings(out[s.ExternalID])
		n += len(faces)
	}
	if info.Templates != n {
		t.Errorf("gallery %s: %d faces in the store, %d templates in the index", gallery, n, info.Templates)
	}
	return out, n
}

// TestIndexResumable bulk-enrols the shared identity tree: part of it first, then all of it, then all of it
// again; then into a second gallery, interrupted after a few photos and resumed. The reports must agree with
// what the server holds, a rerun must upload nothing already enrolled, and the resumed gallery must end up
// exactly like the first.
func TestIndexResumable(t *testing.T) {
	var (
		mu        sync.Mutex
		uploads   int                // POST .../faces requests seen
		cancelAt  int                // cancel cancelRun once uploads reaches this
		cancelRun context.CancelFunc // the interrupted run's "Ctrl-C"
	)
	url, key := testServer(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/faces") {
				mu.Lock()
				uploads++
				if cancelRun != nil && uploads == cancelAt {
					cancelRun()
				}
				mu.Unlock()
			}
		})
	})
	uploadCount := func() int { mu.Lock(); defer mu.Unlock(); return uploads }
	c, _ := api.NewClient(url, key, nil)
	common := []string{"--server", url, "--key", key, "--take-largest", "--json", "--consent", "consent forms, batch 7"}

	subset := linkTree(t, "biden", "rose_leslie")
	code, _, errs := run(t, append([]string{"index", subset, "--gallery", "g1"}, common...)...)
	if code != ExitError || !strings.Contains(errs, "--create-gallery") {
		t.Fatalf("missing gallery: exit %d, %q", code, errs)
	}
	code, out, errs := run(t, append([]string{"index", subset, "--gallery", "g1", "--create-gallery"}, common...)...)
	if code != ExitOK {
		t.Fatalf("subset: exit %d: %s", code, errs)
	}
	part := indexReport(t, out)
	if part.People != 2 || part.SubjectsCreated != 2 || part.Images != 5 || part.NotImages != 1 || part.Enrolled == 0 ||
		part.Rejected != 1 || part.Reasons[api.CodeUnsupported] != 1 || part.Enrolled+part.Rejected != 5 {
		t.Errorf("subset report %+v", part)
	}

	full := linkTree(t)
	reportFile := filepath.Join(t.TempDir(), "report.json")
	code, out, errs = run(t, append([]string{"index", full, "--gallery", "g1", "--report", reportFile}, common...)...)
	if code != ExitOK {
		t.Fatalf("full: exit %d: %s", code, errs)
	}
	all := indexReport(t, out)
	if all.People != 6 || all.SubjectsCreated != 4 || all.Skipped != part.Enrolled || all.Rejected == 0 ||
		all.Enrolled+all.Skipped+all.Rejected != all.Images || all.Interrupted {
		t.Errorf("full report %+v after subset %+v", all, part)
	}
	total := part.Enrolled + all.Enrolled
	byReason := 0
	for _, n := range all.Reasons {
		byReason += n
	}
	if len(all.Rejects) != all.Rejected || byReason < all.Rejected {
		t.Errorf("%d rejected, %d listed, %d by reason", all.Rejected, len(all.Rejects), byReason)
	}
	for _, r := range all.Rejects {
		if len(r.Reasons) == 0 || r.Reasons[0].Code == "" || r.File == "" || r.Subject == "" {
			t.Errorf("reject without a reason: %+v", r)
		}
	}
	if saved, err := os.ReadFile(reportFile); err != nil || indexReport(t, string(saved)).Enrolled != all.Enrolled {
		t.Errorf("--report file: %v", err)
	}
	clean, n := gallerySources(t, c, "g1")
	if n != total {
		t.Errorf("g1 holds %d faces, the reports say %d", n, total)
	}
	if info, err := c.Gallery(context.Background(), "g1"); err != nil || info.Subjects != 6 {
		t.Errorf("g1: %+v %v", info, err)
	}

	// Again: nothing new, and only the rejected photos are uploaded again (the rest are skipped by hash).
	before := uploadCount()
	code, out, errs = run(t, append([]string{"index", full, "--gallery", "g1"}, common...)...)
	again := indexReport(t, out)
	if code != ExitOK || again.Enrolled != 0 || again.Skipped != total || again.SubjectsCreated != 0 || again.Rejected != all.Rejected {
		t.Errorf("rerun: exit %d, %+v (%s)", code, again, errs)
	}
	if up := uploadCount() - before; up != all.Rejected {
		t.Errorf("rerun uploaded %d photos, want only the %d rejected ones", up, all.Rejected)
	}
	if _, n := gallerySources(t, c, "g1"); n != total {
		t.Errorf("g1 holds %d faces after the rerun, want %d", n, total)
	}

	// Interrupted after a few uploads ("Ctrl-C"), then resumed, into a second gallery.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mu.Lock()
	cancelAt, cancelRun = uploads+4, cancel
	mu.Unlock()
	code, out, errs = runCtx(ctx, append([]string{"index", full, "--gallery", "g2", "--create-gallery"}, common...)...)
	mu.Lock()
	cancelRun = nil
	mu.Unlock()
	cut := indexReport(t, out)
	if code != ExitError || !strings.Contains(errs, "interrupted") || strings.Contains(errs, "cannot reach") || !cut.Interrupted ||
		cut.Enrolled+cut.Rejected >= all.Images || cut.Enrolled == 0 {
		t.Errorf("interrupted run: exit %d, %q, %+v", code, errs, cut)
	}
	code, out, errs = run(t, append([]string{"index", full, "--gallery", "g2"}, common...)...)
	resumed := indexReport(t, out)
	if code != ExitOK || resumed.Enrolled+resumed.Skipped != total || resumed.Rejected != all.Rejected ||
		cut.SubjectsCreated+resumed.SubjectsCreated != 6 || resumed.Skipped < cut.Enrolled {
		t.Errorf("resumed: exit %d, %+v after %+v (%s)", code, resumed, cut, errs)
	}
	t.Logf("clean run %d enrolled, %d rejected; interrupted run %d enrolled, %d rejected; resumed %d enrolled, %d skipped",
		total, all.Rejected, cut.Enrolled, cut.Rejected, resumed.Enrolled, resumed.Skipped)
	if got, _ := gallerySources(t, c, "g2"); !reflect.DeepEqual(got, clean) {
		t.Errorf("interrupted and resumed gallery differs from the clean run:\n%v\n%v", got, clean)
	}
}

// TestEnrollSearchVerify runs the three client commands against a real server, with bad input.
func TestEnrollSearchVerify(t *testing.T) {
	obama := testutil.Shared(t, "face_recognition_examples/identity/obama/obama.jpg")
	obama2 := testutil.Shared(t, "face_recognition_examples/identity/obama/obama2.jpg")
	biden2 := testutil.Shared(t, "face_recognition_examples/identity/biden/biden2.jpg")
	url, key := evalTestServer(t)
	c, _ := api.NewClient(url, key, nil)
	if _, err := c.CreateGallery(context.Background(), api.GalleryRequest{Name: evalPtr("people")}); err != nil {
		t.Fatal(err)
	}
	srv := []string{"--server", url, "--key", key}
	// The gallery requires consent: without it the photo is refused with the reason.
	code, out, _ := run(t, append([]string{"enroll", "--gallery", "people", "--subject", "biden", biden2}, srv...)...)
	if code != ExitError || !strings.Contains(out, "consent_required") {
		t.Fatalf("enroll without consent: exit %d %q", code, out)
	}
	code, out, errs := run(t, append([]string{"enroll", "--gallery", "people", "--subject", "obama", "--name", "Barack Obama",
		"--consent", "signed form 42", obama}, srv...)...)
	if code != ExitOK || !strings.Contains(out, "created subject obama") || !strings.Contains(out, "enrolled face") {
		t.Fatalf("enroll: exit %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, append([]string{"enroll", "--gallery", "people", "--subject", "obama", obama}, srv...)...)
	if code != ExitOK || !strings.Contains(out, "already enrolled") {
		t.Errorf("enroll again: exit %d %q", code, out)
	}
	code, out, errs = run(t, append([]string{"search", "--gallery", "people", obama2}, srv...)...)
	if code != ExitOK || !strings.Contains(out, ": match") || !strings.Contains(out, "obama  Barack Obama") {
		t.Errorf("search: exit %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, append([]string{"search", "--gallery", "people", "--json", obama2}, srv...)...)
	var sr api.SearchResponse
	if code != ExitOK || json.Unmarshal([]byte(out), &sr) != nil || len(sr.Faces) != 1 || sr.Faces[0].Result != api.ResultMatch {
		t.Errorf("search --json: exit %d %q", code, out)
	}
	code, out, _ = run(t, append([]string{"verify", "--gallery", "people", "--subject", "obama", obama2}, srv...)...)
	if code != ExitOK || !strings.Contains(out, ": match") {
		t.Errorf("verify obama: exit %d %q", code, out)
	}
	code, out, _ = run(t, append([]string{"verify", "--gallery", "people", "--subject", "obama", biden2}, srv...)...)
	if code != ExitOK || !strings.Contains(out, "no match") {
		t.Errorf("verify biden as obama: exit %d %q", code, out)
	}
	sub, err := c.SubjectByExternalID(context.Background(), "people", "obama")
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, append([]string{"verify", "--gallery", "people", "--subject", sub.ID, "--json", biden2}, srv...)...)
	var vr api.VerifyResponse
	if code != ExitOK || json.Unmarshal([]byte(out), &vr) != nil || vr.Match || vr.SubjectID != sub.ID {
		t.Errorf("verify by id --json: exit %d %q", code, out)
	}

	notImage := filepath.Join(t.TempDir(), "notes.jpg")
	os.WriteFile(notImage, []byte("this is text"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no gallery", []string{"search", obama2}, ExitUsage, "--gallery"},
		{"unknown gallery", []string{"search", "--gallery", "nope", obama2}, ExitError, `gallery "nope" not found`},
		{"enrol into unknown gallery", []string{"enroll", "--gallery", "nope", "--subject", "x", obama2}, ExitError, `gallery "nope" not found`},
		{"no subject", []string{"enroll", "--gallery", "people", obama2}, ExitUsage, "--subject"},
		{"missing file", []string{"enroll", "--gallery", "people", "--subject", "obama", obama2, "nonexistent.jpg"}, ExitError, "nonexistent.jpg"},
		{"not an image", []string{"enroll", "--gallery", "people", "--subject", "obama", notImage}, ExitError, "rejected"},
		{"unknown subject", []string{"verify", "--gallery", "people", "--subject", "nobody", obama2}, ExitError, `no subject with external id or id "nobody"`},
		{"wrong key", []string{"search", "--gallery", "people", "--key", "fg_wrong", obama2}, ExitError, "unauthorized"},
	} {
		args := append(append([]string{}, tc.args...), "--server", url)
		if !strings.Contains(strings.Join(tc.args, " "), "--key") {
			args = append(args, "--key", key)
		}
		code, out, errs := run(t, args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%s: exit %d, %q %q; want %d and %q", tc.name, code, out, errs, tc.code, tc.want)
		}
	}
	code, _, errs = run(t, "search", "--gallery", "people", "--server", "http://127.0.0.1:1", obama2)
	if code != ExitError || !strings.Contains(errs, "cannot reach the server at http://127.0.0.1:1 (is 'facegate serve' running?)") {
		t.Errorf("unreachable server: exit %d, %q", code, errs)
	}
	// Ctrl-C is an interruption, not an unreachable server.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errs = runCtx(ctx, append([]string{"search", "--gallery", "people", obama2}, srv...)...)
	if code != ExitError || !strings.Contains(errs, "interrupted") || strings.Contains(errs, "cannot reach") {
		t.Errorf("cancelled search: exit %d, %q", code, errs)
	}
	// Nothing above enrolled a second face, and the failed enrolment into "nope" created nothing.
	if faces, err := c.Faces(context.Background(), "people", sub.ID); err != nil || len(faces) != 1 {
		t.Errorf("obama's faces: %d, %v", len(faces), err)
	}
	if gs, err := c.Galleries(context.Background()); err != nil || len(gs) != 1 {
		t.Errorf("galleries: %+v, %v", gs, err)
	}
}

// TestIndexPossibleDuplicate: a photo that already matches another person of the gallery is refused as
// possible_duplicate and reported against that image (the import goes on); --allow-duplicate enrols it.
func TestIndexPossibleDuplicate(t *testing.T) {
	url, key := testServer(t, nil)
	src := testutil.Shared(t, "face_recognition_examples/identity/obama")
	root := t.TempDir()
	for dir, file := range map[string]string{"obama": "obama.jpg", "not_obama": "obama2.jpg"} {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		abs, _ := filepath.Abs(filepath.Join(src, file))
		if err := os.Symlink(abs, filepath.Join(root, dir, file)); err != nil {
			t.Fatal(err)
		}
	}
	// Two folders, one person: whichever is enrolled first, the other is the duplicate; the rerun skips the one
	// and refuses the other again.
	common := []string{"--server", url, "--key", key, "--json", "--consent", "forms"}
	if code, _, errs := run(t, append([]string{"index", filepath.Join(root), "--gallery", "g", "--create-gallery", "--workers", "1"}, common...)...); code != ExitOK {
		t.Fatalf("index: exit %d: %s", code, errs)
	}
	code, out, errs := run(t, append([]string{"index", root, "--gallery", "g"}, common...)...)
	if code != ExitOK {
		t.Fatalf("rerun: exit %d: %s", code, errs)
	}
	rep := indexReport(t, out)
	if rep.Skipped != 1 || rep.Rejected != 1 || rep.Reasons[api.CodePossibleDuplicate] != 1 || len(rep.Rejects) != 1 ||
		!strings.Contains(rep.Rejects[0].Reasons[0].Message, "allow_duplicate") {
		t.Fatalf("report %+v", rep)
	}
	code, out, errs = run(t, append([]string{"index", root, "--gallery", "g", "--allow-duplicate"}, common...)...)
	if rep := indexReport(t, out); code != ExitOK || rep.Enrolled != 1 || rep.Rejected != 0 {
		t.Fatalf("--allow-duplicate: exit %d %+v %s", code, rep, errs)
	}
}
