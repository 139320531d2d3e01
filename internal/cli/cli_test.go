package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/testutil/testenv"
)

// run executes the CLI in-process and returns exit status, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func needModels(t *testing.T) {
	t.Helper()
	testenv.ModelPack(t)
}

func npmImage(t *testing.T, name string) string {
	t.Helper()
	return testenv.DepsFile(t, filepath.Join("testimages", name))
}

func sharedPath(t *testing.T, rel string) string {
	t.Helper()
	return testenv.Shared(t, rel)
}

func TestUsage(t *testing.T) {
	tests := []struct {
		args     []string
		code     int
		contains string
	}{
		{nil, ExitUsage, "Commands:"},
		{[]string{"help"}, ExitOK, "detect"},
		{[]string{"frobnicate"}, ExitUsage, "unknown command"},
		{[]string{"detect"}, ExitUsage, "no image given"},
		{[]string{"detect", "--bogus", "x.jpg"}, ExitUsage, "flag provided but not defined"},
		{[]string{"detect", "--attributes", "race", "x.jpg"}, ExitUsage, "unknown attribute"},
		{[]string{"compare", "a.jpg"}, ExitUsage, "exactly two images"},
		{[]string{"compare", "--threshold", "3", "a.jpg", "b.jpg"}, ExitUsage, "within [-1, 1]"},
		{[]string{"compare", "--fmr", "0.9", "a.jpg", "b.jpg"}, ExitUsage, "outside the calibrated range"},
		{[]string{"eval"}, ExitUsage, "missing eval mode"},
		{[]string{"eval", "verify"}, ExitUsage, "--pairs and --images are required"},
		{[]string{"eval", "identify", "--root", "x", "--gallery", "0"}, ExitUsage, "--gallery must be at least 1"},
		{[]string{"bench", "a", "b"}, ExitUsage, "at most one image"},
		{[]string{"serve", "--alert-cooldown", "0s"}, ExitUsage, "--alert-cooldown must be positive"},
		{[]string{"serve", "--alert-cooldown", "-5m"}, ExitUsage, "--alert-cooldown must be positive"},
		{[]string{"serve", "--not-this-person-retention", "0s"}, ExitUsage, "must be positive"},
		{[]string{"serve", "--crowd-retention", "0s"}, ExitUsage, "--crowd-retention"},
		// Issue 12: the engine's floor on the face size searched, and the per-key share of analysis slots.
		{[]string{"detect", "--min-face", "1", "x.jpg"}, ExitUsage, "--min-face must be at least 10 pixels"},
		{[]string{"detect", "--max-faces", "0", "x.jpg"}, ExitUsage, "--max-faces must be at least 1"},
		{[]string{"watch", "--min-face", "9", "x.mp4"}, ExitUsage, "--min-face must be at least 10 pixels"},
		// Issue 13: the detection profiles.
		{[]string{"detect", "--profile", "fast", "x.jpg"}, ExitUsage, "--profile must be default or crowd"},
		{[]string{"watch", "--profile", "Crowd", "x.mp4"}, ExitUsage, "--profile must be default or crowd"},
		{[]string{"serve", "--max-analyses", "4", "--max-analyses-per-key", "5"}, ExitUsage, "--max-analyses-per-key"},
		{[]string{"serve", "--max-analyses-per-key", "-1"}, ExitUsage, "--max-analyses-per-key"},
		{[]string{"serve", "--stream-dirs", "/nonexistent/videos"}, ExitUsage, "--stream-dirs: /nonexistent/videos is not a folder"},
		{[]string{"serve", "--stream-dirs", "/etc/hostname"}, ExitUsage, "is not a folder"},
		{[]string{"serve", "--allow-private-networks=maybe"}, ExitUsage, "invalid boolean"},
		{[]string{"serve", "--max-image-memory", "0"}, ExitUsage, "--max-image-memory, --timeout and --max-analyses must be positive"},
	}
	for _, tc := range tests {
		code, out, errs := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errs, tc.contains) {
			t.Errorf("facegate %v: exit %d, want %d; output %q does not contain %q", tc.args, code, tc.code, out+errs, tc.contains)
		}
	}
}

func TestHelpMatchesCommands(t *testing.T) {
	code, out, _ := run(t, "help")
	if code != ExitOK {
		t.Fatalf("help exit %d", code)
	}
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name) {
			t.Errorf("overview does not list %s", c.name)
		}
		code, _, errs := run(t, c.name, "--help")
		if code != ExitOK || !strings.Contains(errs, "Usage: facegate "+c.name) {
			t.Errorf("%s --help: exit %d, %q", c.name, code, errs)
		}
	}
}

func TestVersion(t *testing.T) {
	needModels(t)
	code, out, errs := run(t, "version")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"onnx runtime 1.30.0", "faceplugin-face-recognition-js@0.0.1", "fr_feature.onnx", "default threshold"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "MISMATCH") || strings.Contains(out, "missing") {
		t.Errorf("version reports a bad model:\n%s", out)
	}
}

func TestMissingAndCorruptModels(t *testing.T) {
	needModels(t)
	paths, _ := modelpack.Locate("")
	img := npmImage(t, "sample1.jpg")

	empty := t.TempDir()
	code, _, errs := run(t, "detect", "--models", empty, img)
	if code != ExitError || !strings.Contains(errs, "fr_detect.onnx") || !strings.Contains(errs, "make deps") {
		t.Errorf("missing models: exit %d, %q", code, errs)
	}

	// A copy of the pack with one flipped byte in the embedding model.
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	runtimeDir := filepath.Join(dir, "runtime")
	for _, d := range []string{models, runtimeDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range modelpack.Manifest().Models {
		data, err := os.ReadFile(filepath.Join(paths.Models, m.File))
		if err != nil {
			t.Fatal(err)
		}
		if m.File == "fr_feature.onnx" {
			data[len(data)/2] ^= 0xff
		}
		if err := os.WriteFile(filepath.Join(models, m.File), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(paths.Runtime, filepath.Join(runtimeDir, "libonnxruntime.so.1")); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "detect", "--models", models, img)
	if code != ExitError || !strings.Contains(errs, "fr_feature.onnx") || !strings.Contains(errs, "checksum mismatch") {
		t.Errorf("corrupt model: exit %d, %q", code, errs)
	}
}

// pngHeader builds a PNG signature and IHDR chunk claiming w x h pixels, with a valid CRC and no image data.
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDetectBadInput(t *testing.T) {
	needModels(t)
	dir := t.TempDir()
	good, err := os.ReadFile(npmImage(t, "sample1.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"empty.jpg":     {},
		"truncated.jpg": good[:len(good)/3],
		"text.jpg":      []byte("this is not an image\n"),
		"bomb.png":      pngHeader(50000, 50000),
	}
	want := map[string]string{
		"empty.jpg":     "empty_image",
		"truncated.jpg": "truncated_image",
		"text.jpg":      "unsupported_format",
		"bomb.png":      "image_too_large",
		"missing.jpg":   "not_found",
	}
	var args []string
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name := range want {
		args = append(args, filepath.Join(dir, name))
	}
	for _, a := range args {
		code, _, errs := run(t, "detect", a)
		if code != ExitError || !strings.Contains(errs, filepath.Base(a)) {
			t.Errorf("detect %s: exit %d, stderr %q", filepath.Base(a), code, errs)
		}
	}
	code, out, _ := run(t, append([]string{"detect", "--json"}, args...)...)
	if code != ExitError {
		t.Errorf("detect --json on bad files: exit %d, want %d", code, ExitError)
	}
	var results []imageResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out)
	}
	for _, r := range results {
		name := filepath.Base(r.File)
		if r.Error == nil || r.Error.Code != want[name] {
			t.Errorf("%s: error %+v, want code %s", name, r.Error, want[name])
		}
	}
}

func TestDetectJSONAndDraw(t *testing.T) {
	needModels(t)
	out := filepath.Join(t.TempDir(), "annotated.png")
	code, stdout, errs := run(t, "detect", "--json", "--attributes", "age,gender", "--draw", out, npmImage(t, "sample5.jpg"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r imageResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Faces) != 5 || r.Width != 1920 || r.Format != "jpeg" {
		t.Fatalf("got %d faces, %dx%d %s; want 5 faces in a 1920-wide JPEG", len(r.Faces), r.Width, r.Height, r.Format)
	}
	for _, f := range r.Faces {
		if len(f.Landmarks) != 68 || f.Attributes == nil || f.Attributes.Age == nil || f.Attributes.Gender == "" {
			t.Errorf("face lacks landmarks or requested attributes: %+v", f)
		}
		if f.Attributes.Expression != "" || f.Attributes.Live != nil {
			t.Errorf("attributes not asked for were computed: %+v", f.Attributes)
		}
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 10000 {
		t.Errorf("annotated image not written: %v", err)
	}
}

func TestCompare(t *testing.T) {
	needModels(t)
	dir := sharedPath(t, "face_recognition_examples/identity")
	code, out, errs := run(t, "compare", "--json", filepath.Join(dir, "obama", "obama.jpg"), filepath.Join(dir, "obama", "obama2.jpg"))
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r compareResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Match || r.Threshold != modelpack.Manifest().Threshold.Value {
		t.Errorf("same person: %+v", r)
	}
	code, out, _ = run(t, "compare", filepath.Join(dir, "obama", "obama.jpg"), filepath.Join(dir, "biden", "biden.jpg"))
	if code != ExitOK || !strings.Contains(out, "different people") {
		t.Errorf("different people: exit %d, %q", code, out)
	}
	code, out, _ = run(t, "compare", "--threshold", "-0.99", filepath.Join(dir, "obama", "obama.jpg"), filepath.Join(dir, "biden", "biden.jpg"))
	if code != ExitOK || !strings.Contains(out, "same person") || !strings.Contains(out, "--threshold") {
		t.Errorf("--threshold not honoured: %q", out)
	}
}

func TestEvalVerifySmall(t *testing.T) {
	needModels(t)
	root := sharedPath(t, "deepface_testset")
	report := filepath.Join(t.TempDir(), "r.json")
	roc := filepath.Join(t.TempDir(), "roc.png")
	code, out, errs := run(t, "eval", "verify", "--pairs", filepath.Join(root, "pairs.csv"), "--images", root,
		"--limit", "40", "--roc", roc, "--out", report)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"10-fold accuracy", "TAR @ FAR=0.001", "images with no face found: 0"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	var rep VerifyReport
	data, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil || rep.Pairs != 40 {
		t.Fatalf("report: %v %+v", err, rep)
	}
	if st, err := os.Stat(roc); err != nil || st.Size() < 1000 {
		t.Errorf("ROC plot not written: %v", err)
	}
}

func TestEvalVerifyMissingImages(t *testing.T) {
	needModels(t)
	root := sharedPath(t, "deepface_testset")
	code, _, errs := run(t, "eval", "verify", "--pairs", filepath.Join(root, "pairs.csv"), "--images", filepath.Join(root, "images"), "--limit", "4")
	if code != ExitError || !strings.Contains(errs, "could not be read") {
		t.Errorf("wrong --images: exit %d, %q", code, errs)
	}
}

func TestEvalIdentifyAndCalibrate(t *testing.T) {
	needModels(t)
	root := sharedPath(t, "face_recognition_examples/identity")
	code, out, errs := run(t, "eval", "identify", "--root", root, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep IdentifyReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	// Six people; the first photo of each is the gallery, the 17 others are probes.
	if rep.People != 6 || rep.GalleryPeople != 6 || rep.Probes != 17 || rep.Rank1 < 0.99 {
		t.Errorf("identify report %+v", rep)
	}
	code, _, errs = run(t, "eval", "calibrate", "--root", root)
	if code != ExitError || !strings.Contains(errs, "impostor pairs") {
		t.Errorf("calibrate on 6 people: exit %d, %q; want a refusal for too few impostor pairs", code, errs)
	}
}

// TestServeAllowPrivateNetworksEnv: a value of $FACEGATE_ALLOW_PRIVATE_NETWORKS that is not a boolean stops serve
// with a usage error instead of silently meaning off (or on).
func TestServeAllowPrivateNetworksEnv(t *testing.T) {
	t.Setenv("FACEGATE_ALLOW_PRIVATE_NETWORKS", "yes please")
	code, out, errs := run(t, "serve")
	if code != ExitUsage || !strings.Contains(out+errs, "FACEGATE_ALLOW_PRIVATE_NETWORKS must be true or false") {
		t.Errorf("exit %d, output %q", code, out+errs)
	}
}
