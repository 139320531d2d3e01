package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/internal/testutil"
)

// linkTree builds a folder-per-person tree of symbolic links to the shared photos of the named people (all
// when none are named) and puts a text file beside the photos of the first person.
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

// checkGallery checks that the gallery holds want templates and no subject has two faces from one image.
func checkGallery(t *testing.T, c *api.Client, gallery string, want int) {
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
	n := 0
	for _, s := range subs.Subjects {
		faces, err := c.Faces(ctx, gallery, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, f := range faces {
			if seen[f.Source] {
				t.Errorf("subject %s has two faces from image %s", s.ExternalID, f.Source)
			}
			seen[f.Source] = true
		}
		n += len(faces)
	}
	if n != want || info.Templates != want {
		t.Errorf("gallery %s: %d faces in the store, %d in the index, want %d", gallery, n, info.Templates, want)
	}
}

// TestIndexResumable bulk-enrols the shared identity tree: part of it first, then all of it, then all of it
// again, and once more after an interruption into a second gallery; the counts must add up and no image may be
// enrolled twice.
func TestIndexResumable(t *testing.T) {
	url, key := evalTestServer(t)
	c, _ := api.NewClient(url, key, nil)
	common := []string{"--server", url, "--key", key, "--take-largest", "--json"}

	code, out, errs := run(t, append([]string{"index", linkTree(t, "biden", "rose_leslie"), "--gallery", "g1"}, common...)...)
	if code != ExitError || !strings.Contains(errs, "--create-gallery") {
		t.Fatalf("missing gallery: exit %d, %q", code, errs)
	}
	code, out, errs = run(t, append([]string{"index", linkTree(t, "biden", "rose_leslie"), "--gallery", "g1", "--create-gallery"}, common...)...)
	if code != ExitOK {
		t.Fatalf("subset: exit %d: %s", code, errs)
	}
	part := indexReport(t, out)
	if part.People != 2 || part.SubjectsCreated != 2 || part.Images != 4 || part.NotImages != 1 || part.Enrolled+part.Rejected != 4 || part.Enrolled == 0 {
		t.Errorf("subset report %+v", part)
	}
	full := linkTree(t)
	reportFile := filepath.Join(t.TempDir(), "report.json")
	code, out, errs = run(t, append([]string{"index", full, "--gallery", "g1", "--report", reportFile}, common...)...)
	if code != ExitOK {
		t.Fatalf("full: exit %d: %s", code, errs)
	}
	all := indexReport(t, out)
	if all.People != 6 || all.SubjectsCreated != 4 || all.Skipped != part.Enrolled || all.Enrolled+all.Skipped+all.Rejected != all.Images {
		t.Errorf("full report %+v after subset %+v", all, part)
	}
	total := part.Enrolled + all.Enrolled
	for _, r := range all.Rejects {
		if len(r.Reasons) == 0 || r.Reasons[0].Code == "" {
			t.Errorf("reject without a reason: %+v", r)
		}
	}
	if saved, err := os.ReadFile(reportFile); err != nil || indexReport(t, string(saved)).Enrolled != all.Enrolled {
		t.Errorf("--report file: %v", err)
	}
	checkGallery(t, c, "g1", total)

	// Again: nothing new.
	code, out, _ = run(t, append([]string{"index", full, "--gallery", "g1"}, common...)...)
	again := indexReport(t, out)
	if code != ExitOK || again.Enrolled != 0 || again.Skipped != total || again.SubjectsCreated != 0 {
		t.Errorf("rerun: exit %d, %+v", code, again)
	}
	checkGallery(t, c, "g1", total)

	// Interrupted, then resumed, into a second gallery: the same result as the clean run.
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	code, _, errs = runCtx(ctx, append([]string{"index", full, "--gallery", "g2", "--create-gallery"}, common...)...)
	if code != ExitError || !strings.Contains(errs, "interrupted") {
		t.Errorf("interrupted run: exit %d, %q", code, errs)
	}
	code, out, errs = run(t, append([]string{"index", full, "--gallery", "g2"}, common...)...)
	resumed := indexReport(t, out)
	if code != ExitOK || resumed.Enrolled+resumed.Skipped != total {
		t.Errorf("resumed: exit %d, %+v (%s)", code, resumed, errs)
	}
	checkGallery(t, c, "g2", total)
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
	code, out, errs := run(t, append([]string{"enroll", "--gallery", "people", "--subject", "obama", "--name", "Barack Obama", obama}, srv...)...)
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

	notImage := filepath.Join(t.TempDir(), "notes.jpg")
	os.WriteFile(notImage, []byte("this is text"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no gallery", []string{"search", obama2}, ExitUsage, "--gallery"},
		{"unknown gallery", []string{"search", "--gallery", "nope", obama2}, ExitError, "not found"},
		{"not an image", []string{"enroll", "--gallery", "people", "--subject", "obama", notImage}, ExitError, "rejected"},
		{"unknown subject", []string{"verify", "--gallery", "people", "--subject", "nobody", obama2}, ExitError, "nobody"},
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
	if code != ExitError || !strings.Contains(errs, "cannot reach the server at http://127.0.0.1:1") {
		t.Errorf("unreachable server: exit %d, %q", code, errs)
	}
}
