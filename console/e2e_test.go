package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConsoleE2E builds facegate, starts it on a free port with a temporary store, and runs the browser test
// console/e2e/console.spec.mjs in headless Chromium: sign in, create a gallery, enrol a person with consent,
// search and see the match, erase, search and see unknown; then (with ffmpeg) enrol with the guided webcam steps
// from a fake camera playing obama.jpg, add a stream on the test clip against a watchlist, watch its live preview
// and match events, reject an alert in the review queue, find the decision in the verified audit log and see the
// crowd charts; then create, revoke and change things on the settings page. The watchlist part (issue 11): enrol a
// person with a reason and a review date (no consent text), see their stream sightings grouped into one alert
// whose capture and enrolled photo come from one media request, reject it, see a search with their enrolment
// photo still match and alert, see the rejected capture suppressed, and undo the rejection on their page; also the
// duplicate question, the largest face of a group photo, bulk review and the overdue watchlist entries. make test runs it on its own line (it is skipped
// with -short). It needs /usr/bin/chromium, node and .deps/playwright-core (scripts/deps.sh) and the photos in
// ../shared/datasets; without them it skips, saying which is missing.
//
// Screenshots go to $FACEGATE_CONSOLE_SCREENSHOTS, default out/console-e2e ('make console-screenshots' writes
// the ones in docs/console).
func TestConsoleE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short (make test runs it without)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	chromium := envOr("FACEGATE_CHROMIUM", "/usr/bin/chromium")
	data := envOr("FACEGATE_DATASETS", filepath.Join(root, "..", "shared", "datasets"))
	images := filepath.Join(data, "face_recognition_examples", "identity", "obama")
	pw := filepath.Join(root, ".deps", "playwright-core")
	node, nodeErr := exec.LookPath("node")
	switch {
	case !isFile(chromium):
		testenv.Missing(t, "browser test: %s not found (scripts/deps.sh installs Debian's chromium when run as root)", chromium)
	case nodeErr != nil:
		testenv.Missing(t, "browser test: node not found")
	case !isFile(filepath.Join(pw, "package.json")):
		testenv.Missing(t, "browser test: %s missing (run scripts/deps.sh)", pw)
	case !isFile(filepath.Join(images, "obama.jpg")) || !isFile(filepath.Join(images, "obama2.jpg")):
		testenv.Missing(t, "browser test: %s/obama.jpg and obama2.jpg not found (../shared/datasets)", images)
	}
	// The streams part needs ffmpeg and the clip; without them the rest runs and the test says what it skipped.
	clip := filepath.Join(data, "face_recognition_examples", "video", "short_hamilton_clip.mp4")
	watchPhoto := filepath.Join(data, "face_recognition_examples", "identity", "lin_manuel_miranda", "lin-manuel-miranda.png")
	video := "1"
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		video = ""
		testenv.MissingPart(t, "browser test: ffmpeg not on PATH: skipping the streams, live view, review queue and audit part")
	} else if !isFile(clip) || !isFile(watchPhoto) {
		video = ""
		testenv.MissingPart(t, "browser test: %s or %s not found: skipping the streams, live view, review queue and audit part", clip, watchPhoto)
	}
	// The guided webcam enrolment needs ffmpeg too: it makes the .y4m that Chromium's fake camera plays.
	camera := ""
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		testenv.MissingPart(t, "browser test: ffmpeg not on PATH: skipping the guided webcam enrolment")
	} else {
		camera = filepath.Join(t.TempDir(), "obama.y4m")
		mk := exec.Command("ffmpeg", "-v", "error", "-y", "-loop", "1", "-i", filepath.Join(images, "obama.jpg"), "-t", "3",
			"-vf", "scale=640:-2,format=yuv420p", "-f", "yuv4mpegpipe", camera)
		if out, err := mk.CombinedOutput(); err != nil {
			t.Logf("browser test: ffmpeg could not make the fake camera video (%v: %s): skipping the guided webcam enrolment", err, out)
			camera = ""
		}
	}
	shots := envOr("FACEGATE_CONSOLE_SCREENSHOTS", filepath.Join(root, "out", "console-e2e"))
	if !filepath.IsAbs(shots) {
		shots = filepath.Join(root, shots)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "facegate")
	args := []string{"build", "-o", bin}
	if isFile("/usr/include/jpeglib.h") {
		args = append(args, "-tags", "libjpeg")
	}
	build := exec.CommandContext(ctx, goBin(), append(args, "./cmd/facegate")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	secret := make([]byte, 32)
	rand.Read(secret)
	key := "fg_" + hex.EncodeToString(secret)
	var serverLog bytes.Buffer
	serveArgs := []string{"serve", "--addr", addr, "--data", filepath.Join(tmp, "data"), "--rate", "0"}
	if isFile(clip) {
		serveArgs = append(serveArgs, "--stream-dirs", filepath.Dir(clip)) // the console configures a stream on the clip
	}
	srv := exec.Command(bin, serveArgs...)
	srv.Dir = root // the models are found in .deps
	srv.Env = append(os.Environ(), "FACEGATE_ADMIN_KEY="+key)
	srv.Stdout, srv.Stderr = &serverLog, &serverLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", serverLog.String())
		}
	}()
	base := "http://" + addr
	if err := waitReady(ctx, base+"/readyz"); err != nil {
		t.Fatalf("server not ready: %v\n%s", err, serverLog.String())
	}

	start := time.Now()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "console", "e2e", "console.spec.mjs"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BASE_URL="+base, "FACEGATE_KEY="+key, "PLAYWRIGHT_CORE="+pw, "IMAGES="+images,
		"SCREENSHOTS="+shots, "VIDEO="+video, "CLIP="+clip, "WATCH_PHOTO="+watchPhoto, "CHROMIUM="+chromium, "CAMERA="+camera, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("browser test failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	t.Logf("browser test passed in %s; screenshots in %s", time.Since(start).Round(time.Millisecond), shots)
}

func waitReady(ctx context.Context, url string) error {
	var last error
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return last
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func goBin() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
