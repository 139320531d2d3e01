package cli

import (
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSyntheticGroups writes a groups file assigning the deepface test set's 13 identities (id01..id13) to
// three groups by a fixed split of their names (id number mod 3). These are not demographic labels: the tests
// only check the machinery.
func writeSyntheticGroups(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("identity,group\n# synthetic split of deepface_testset, not demographic\n")
	for i := 1; i <= 13; i++ {
		fmt.Fprintf(&b, "id%02d,split%d\n", i, i%3)
	}
	p := filepath.Join(t.TempDir(), "groups.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkPNG(t *testing.T, path string, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("plot not written: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("plot %s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("plot %s is %v, want %dx%d", path, b, w, h)
	}
}

// checkVerifyCounts checks that the per-group counts add up to the totals (one group per identity).
func checkVerifyCounts(t *testing.T, fr *FairnessVerifyReport, wantIDs int) {
	t.Helper()
	gen := fr.GenuineCrossGroup + fr.UnlabelledGenuine
	imp := fr.CrossGroupFMR.Total + fr.UnlabelledImpostor
	ids := 0
	for _, g := range fr.Groups {
		gen += g.FNMR.Total
		imp += g.FMR.Total
		ids += g.Identities
		if g.FNMR.Count > g.FNMR.Total || g.FMR.Count > g.FMR.Total || g.FMR.Low > g.FMR.Rate || g.FMR.High < g.FMR.Rate {
			t.Errorf("group %+v inconsistent", g)
		}
	}
	if gen != fr.GenuinePairs || imp != fr.ImpostorPairs || fr.GenuinePairs+fr.ImpostorPairs != fr.Pairs {
		t.Errorf("counts do not add up: genuine %d of %d, impostor %d of %d, pairs %d", gen, fr.GenuinePairs, imp, fr.ImpostorPairs, fr.Pairs)
	}
	if len(fr.Groups) != 3 || ids != wantIDs || fr.UnlabelledGenuine+fr.UnlabelledImpostor != 0 || fr.GenuineCrossGroup != 0 {
		t.Errorf("groups %d, identities %d, unlabelled %d+%d, genuine across groups %d", len(fr.Groups), ids,
			fr.UnlabelledGenuine, fr.UnlabelledImpostor, fr.GenuineCrossGroup)
	}
	if n := len(fr.FMRSpread.Groups) + len(fr.FMRSpread.Insufficient); n != 3 {
		t.Errorf("FMR spread covers %d groups", n)
	}
}

func TestEvalVerifyFairness(t *testing.T) {
	needModels(t)
	root := sharedPath(t, "deepface_testset")
	groups := writeSyntheticGroups(t)
	dir := t.TempDir()
	frPath, plot, report := filepath.Join(dir, "fairness.json"), filepath.Join(dir, "bars.png"), filepath.Join(dir, "report.json")
	code, out, errs := run(t, "eval", "verify", "--pairs", filepath.Join(root, "pairs.csv"), "--images", root,
		"--groups", groups, "--identities", filepath.Join(root, "identities.csv"),
		"--fairness-out", frPath, "--fairness-plot", plot, "--fairness-min-pairs", "20", "--out", report)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"per group at threshold 0.3326 (model pack default)", "split0", "split1", "split2", "cross-group impostor pairs"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var fr FairnessVerifyReport
	data, err := os.ReadFile(frPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &fr); err != nil {
		t.Fatal(err)
	}
	// pairs.csv: 520 pairs, 140 same and 380 different.
	if fr.Pairs != 520 || fr.GenuinePairs != 140 || fr.ImpostorPairs != 380 || fr.Threshold != 0.3326 || fr.MinPairs != 20 {
		t.Errorf("fairness report header %+v", fr)
	}
	checkVerifyCounts(t, &fr, 13)
	if len(fr.Groups[0].ROC) != 5 {
		t.Errorf("want per-group points at the 5 calibrated thresholds, got %+v", fr.Groups[0].ROC)
	}
	checkPNG(t, plot, 900, 560)
	var rep VerifyReport
	if data, err = os.ReadFile(report); err == nil {
		err = json.Unmarshal(data, &rep)
	}
	if err != nil || rep.Fairness == nil || rep.Fairness.Pairs != 520 || rep.Fairness.PlotFile != plot {
		t.Errorf("main report lacks the fairness section: %v", err)
	}

	// Generated within-group impostor pairs, at most 10 per group, on the first 300 pairs (25 images of 9 people:
	// 38 same-person pairs, 262 different).
	code, _, errs = run(t, "eval", "verify", "--pairs", filepath.Join(root, "pairs.csv"), "--images", root, "--limit", "300",
		"--groups", groups, "--identities", filepath.Join(root, "identities.csv"), "--fairness-impostors", "10",
		"--fairness-out", frPath, "--json")
	if code != ExitOK {
		t.Fatalf("--fairness-impostors: exit %d: %s", code, errs)
	}
	fr = FairnessVerifyReport{}
	if data, err = os.ReadFile(frPath); err == nil {
		err = json.Unmarshal(data, &fr)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkVerifyCounts(t, &fr, 9)
	if fr.GenuinePairs != 38 || fr.ImpostorPairs != 262-fr.ListImpostorsReplaced+fr.GeneratedImpostors || fr.ListImpostorsReplaced == 0 ||
		fr.GeneratedImpostors == 0 || !strings.Contains(fr.ImpostorSource, "10 per group") {
		t.Errorf("--fairness-impostors 10: impostor pairs %d, replaced %d, generated %d, source %q", fr.ImpostorPairs,
			fr.ListImpostorsReplaced, fr.GeneratedImpostors, fr.ImpostorSource)
	}
	full := 0
	for _, g := range fr.Groups {
		if g.FMR.Total > 10 {
			t.Errorf("--fairness-impostors 10: group %s has %d impostor pairs", g.Group, g.FMR.Total)
		}
		if g.FMR.Total == 10 {
			full++
		}
	}
	if full == 0 {
		t.Errorf("no group reached 10 generated impostor pairs: %+v", fr.Groups)
	}
}

func TestEvalFairnessFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pairs := write("pairs.txt", "1\nAnn 1 2\nAnn 1 Bob 1\n")
	groups := write("groups.csv", "Cid,g1\nDee,g2\n")
	bad := write("bad.csv", "identity,group\nAnn,g1\nBob\n")
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--fairness-out", "x.json"}, ExitUsage, "--fairness-out needs --groups"},
		{[]string{"--fairness-plot", "x.png"}, ExitUsage, "--fairness-plot needs --groups"},
		{[]string{"--identities", groups}, ExitUsage, "--identities needs --groups"},
		{[]string{"--fairness-impostors", "10"}, ExitUsage, "--fairness-impostors needs --groups"},
		{[]string{"--groups", groups, "--fairness-min-pairs", "0"}, ExitUsage, "--fairness-min-pairs must be at least 1"},
		{[]string{"--groups", groups, "--fairness-impostors", "-1"}, ExitUsage, "--fairness-impostors must be 0 or more"},
		{[]string{"--groups", filepath.Join(dir, "missing.csv")}, ExitError, "groups:"},
		{[]string{"--groups", bad}, ExitError, "line 3: want 2 fields, got 1"},
		{[]string{"--groups", groups}, ExitError, "no image of"},
	} {
		args := append([]string{"eval", "verify", "--pairs", pairs, "--images", dir}, tc.args...)
		code, out, errs := run(t, args...)
		if code != tc.code || !strings.Contains(out+errs, tc.want) {
			t.Errorf("%v: exit %d, want %d; output %q lacks %q", tc.args, code, tc.code, out+errs, tc.want)
		}
	}
	code, _, errs := run(t, "eval", "identify", "--root", dir, "--fairness-plot", "x.png")
	if code != ExitUsage || !strings.Contains(errs, "--fairness-plot needs --groups") {
		t.Errorf("identify without --groups: exit %d, %q", code, errs)
	}
	code, _, errs = run(t, "eval", "identify", "--root", dir, "--groups", groups, "--threshold", "2")
	if code != ExitUsage || !strings.Contains(errs, "within [-1, 1]") {
		t.Errorf("identify --threshold 2: exit %d, %q", code, errs)
	}
	for _, mode := range []string{"verify", "identify"} {
		code, _, errs = run(t, "eval", mode, "--help")
		if code != ExitOK || !strings.Contains(errs, "--groups") || !strings.Contains(errs, "-fairness-plot") {
			t.Errorf("eval %s --help does not describe the per-group flags: %q", mode, errs)
		}
	}
}

func TestEvalIdentifyGroups(t *testing.T) {
	needModels(t)
	root := sharedPath(t, "face_recognition_examples/identity")
	dir := t.TempDir()
	// Synthetic split of the six people; alex_lacamoire is left unlabelled on purpose.
	groups := filepath.Join(dir, "groups.csv")
	if err := os.WriteFile(groups, []byte("biden,first\nobama,first\nkit_harington,second;both\nlin_manuel_miranda,second\nrose_leslie,second;both\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	frPath, plot := filepath.Join(dir, "fi.json"), filepath.Join(dir, "fi.png")
	code, out, errs := run(t, "eval", "identify", "--root", root, "--groups", groups, "--fairness-min-pairs", "3",
		"--fairness-out", frPath, "--fairness-plot", plot, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep IdentifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	fr := rep.Fairness
	if fr == nil {
		t.Fatal("no fairness section in the JSON report")
	}
	if fr.Searches != rep.Probes || fr.Mated != rep.Probes || fr.UnlabelledSearches == 0 ||
		len(fr.UnlabelledIdentities) != 1 || fr.UnlabelledIdentities[0] != "alex_lacamoire" {
		t.Errorf("fairness header %+v", fr)
	}
	per := map[string]int{}
	for _, g := range fr.Groups {
		per[g.Group] = g.Rank1.Total
		if g.FNIR.Total != g.Rank1.Total || g.FPIR.Total != g.Rank1.Total || len(g.Points) != 2 {
			t.Errorf("group %+v", g)
		}
	}
	// "first" and "second" partition the labelled people: their searches plus the unlabelled ones are all.
	if per["first"]+per["second"]+fr.UnlabelledSearches != fr.Searches || per["both"] == 0 {
		t.Errorf("per-group searches %v, unlabelled %d, total %d", per, fr.UnlabelledSearches, fr.Searches)
	}
	if _, err := os.Stat(frPath); err != nil {
		t.Error(err)
	}
	checkPNG(t, plot, 900, 560)
}
