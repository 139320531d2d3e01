package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"github.com/facegate/facegate/store/sqlite"
)

// TestWatch runs 'facegate watch' on the real clip against a store where the performer is enrolled from his
// still photo: the JSON lines name him in a match event, every started track ends, and crops appear only with
// --crops.
func TestWatch(t *testing.T) {
	testenv.FFmpeg(t)
	clip := testutil.Shared(t, "face_recognition_examples/video/short_hamilton_clip.mp4")
	dir := t.TempDir()
	db, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	g := &facegate.Gallery{Name: "stage", Threshold: modelpack.Manifest().Threshold.Value, Purpose: facegate.PurposeResearch,
		ConsentExempt: true, LegalBasis: "evaluation on public example photos (ageitgey/face_recognition, MIT)"}
	if err := db.CreateGallery(ctx, g); err != nil {
		t.Fatal(err)
	}
	faces := []facegate.Face{testutil.PrimaryFace(t, testutil.ReadShared(t, "face_recognition_examples/identity/lin_manuel_miranda/lin-manuel-miranda.png"))}
	sub := &facegate.Subject{GalleryID: g.ID, ExternalID: "lin", DisplayName: "Lin-Manuel Miranda"}
	if err := db.CreateSubjectWithFaces(ctx, sub, []*facegate.FaceRecord{{Template: faces[0].Template}}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, errs := runCtx(ctx, "watch", clip, "--gallery", "stage", "--data", dir, "--fast", "--crops")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var matched bool
	started, ended := map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		var ev facegate.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d is not an event: %v", lines, err)
		}
		switch ev.Type {
		case facegate.EventMatch:
			if ev.Match.ExternalID != "lin" || len(ev.Crop) == 0 {
				t.Errorf("match: %+v, crop %d bytes", ev.Match, len(ev.Crop))
			}
			matched = true
		case facegate.EventTrackStarted:
			started[ev.Track] = true
		case facegate.EventTrackEnded:
			ended[ev.Track] = true
		}
	}
	if !matched {
		t.Fatalf("no match event in %d lines", lines)
	}
	if len(started) == 0 || len(started) != len(ended) {
		t.Errorf("tracks started %v, ended %v", started, ended)
	}

	// --types filters; without --crops a match carries no crop.
	code, out, errs = runCtx(ctx, "watch", clip, "--gallery", "stage", "--data", dir, "--fast", "--types", "match")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev facegate.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Type != facegate.EventMatch || len(ev.Crop) != 0 {
			t.Fatalf("with --types match and no --crops: %.200s (%v)", line, err)
		}
	}
}

func TestWatchErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no source", []string{"watch"}, ExitUsage, "exactly one SOURCE"},
		{"bad fps", []string{"watch", "x.mp4", "--fps", "0"}, ExitUsage, "--fps"},
		{"bad type", []string{"watch", "x.mp4", "--types", "nonsense"}, ExitUsage, "nonsense"},
		{"no store", []string{"watch", "x.mp4", "--gallery", "g", "--data", t.TempDir()}, ExitError, "no store"},
		{"missing file", []string{"watch", "/nonexistent/clip.mp4"}, ExitError, "clip.mp4"},
		{"unknown scheme", []string{"watch", "gopher://cam"}, ExitError, "gopher"},
		{"no zones file", []string{"watch", "x.mp4", "--zones", "/nonexistent/zones.json"}, ExitUsage, "--zones"},
		{"zones not JSON", []string{"watch", "x.mp4", "--zones", zonesFile(t, `zones:`)}, ExitUsage, "not a JSON object"},
		{"two-point zone", []string{"watch", "x.mp4", "--zones", zonesFile(t, `{"zones": [{"name": "z", "points": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}]}`)}, ExitUsage, "at least 3 points"},
		{"line end outside", []string{"watch", "x.mp4", "--zones", zonesFile(t, `{"lines": [{"name": "l", "from": {"x": 0, "y": 0}, "to": {"x": 2, "y": 1}}]}`)}, ExitUsage, "outside the frame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := run(t, tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errs, tc.code, tc.msg)
			}
		})
	}
}

// zonesFile writes a --zones file and returns its path.
func zonesFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zones.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWatchZones runs the clip with a --zones file: every crowd line carries the zone and the line, by name,
// and a heatmap.
func TestWatchZones(t *testing.T) {
	testenv.FFmpeg(t)
	clip := testutil.Shared(t, "face_recognition_examples/video/short_hamilton_clip.mp4")
	zones := zonesFile(t, `{"zones": [{"name": "all", "points": [{"x": 0, "y": 0}, {"x": 1, "y": 0}, {"x": 1, "y": 1}, {"x": 0, "y": 1}]}],
		"lines": [{"name": "middle", "from": {"x": 0.5, "y": 0}, "to": {"x": 0.5, "y": 1}}]}`)
	code, out, errs := runCtx(context.Background(), "watch", clip, "--fast", "--types", "crowd", "--crowd-interval", "5", "--zones", zones)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	n, faces := 0, 0
	for line := range strings.Lines(out) {
		var ev facegate.Event
		if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.Crowd == nil {
			t.Fatalf("not a crowd event: %q %v", line, err)
		}
		c := ev.Crowd
		if len(c.Zones) != 1 || c.Zones[0].Name != "all" || len(c.Lines) != 1 || c.Lines[0].Name != "middle" || c.Heatmap == nil {
			t.Fatalf("crowd event without the zone, line or heatmap: %s", line)
		}
		n++
		faces += c.Heatmap.Total()
	}
	if n < 2 || faces == 0 {
		t.Errorf("%d crowd events with %d face-frames; want >= 2 over the 10 s clip, and faces", n, faces)
	}
}
