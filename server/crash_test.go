package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// The tests in this file run the real server stack (SQLite store, engine, index, HTTP server) in a child
// process: the test binary re-executed as TestHelperServerProcess. TestCrashDurability SIGKILLs it under
// enrolment load and checks, after every restart on the same data directory, that every acknowledged write is
// there and no subject is partial; TestGracefulShutdown SIGTERMs it with requests in flight. Both need the models,
// on purpose: the helper is the production stack, and its real analysis of group photos is what makes requests
// slow enough to be caught in flight by the kill or the shutdown (the fake analyser answers in microseconds).

const (
	helperEnv         = "FACEGATE_SERVER_HELPER"          // "1" in the helper process
	helperDataEnv     = "FACEGATE_SERVER_HELPER_DATA"     // its data directory
	helperAnalysesEnv = "FACEGATE_SERVER_HELPER_ANALYSES" // server.Config.MaxAnalyses and MaxAnalysesPerKey (0: the defaults)
	helperListening   = "FACEGATE_HELPER_LISTENING"       // stdout line prefix announcing host:port
)

// TestMain runs the server process of TestCrashDurability and TestGracefulShutdown when the test binary is
// started as that helper, and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(runHelperServer())
	}
	os.Exit(m.Run())
}

// runHelperServer is what 'facegate serve' does (internal/cli/serve.go), on 127.0.0.1:0, with no rate limit. It
// prints the listening address to stdout, serves until SIGTERM or SIGINT, shuts down gracefully, closes the store
// and returns the exit code.
func runHelperServer() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	fail := func(what string, err error) int {
		fmt.Fprintf(os.Stderr, "helper: %s: %v\n", what, err)
		return 2
	}
	// Never outlive a parent that failed to kill us.
	time.AfterFunc(4*time.Minute, func() {
		fmt.Fprintln(os.Stderr, "helper: watchdog expired")
		os.Exit(3)
	})
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	paths, err := modelpack.Locate("")
	if err != nil {
		return fail("model pack", err)
	}
	e, err := engine.New(engine.Config{RuntimePath: paths.Runtime, ModelsDir: paths.Models, Logger: log})
	if err != nil {
		return fail("engine", err)
	}
	defer e.Close()
	st, err := sqlite.Open(os.Getenv(helperDataEnv))
	if err != nil {
		return fail("store", err)
	}
	analyses, _ := strconv.Atoi(os.Getenv(helperAnalysesEnv))
	srv, err := server.New(ctx, server.Config{Store: st, Engine: e, Index: index.New(facegate.TemplateDim), Logger: log,
		RatePerSecond: 0, Burst: 40, MaxAnalyses: analyses, MaxAnalysesPerKey: analyses}) // like --rate 0: no rate limit; the one key may use every slot
	if err != nil {
		return fail("server", err)
	}
	if _, err := srv.EnsureAdminKey(ctx, os.Getenv("FACEGATE_ADMIN_KEY")); err != nil {
		return fail("admin key", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail("listen", err)
	}
	fmt.Fprintf(os.Stdout, "%s %s\n", helperListening, ln.Addr()) // os.Stdout is unbuffered
	serr := srv.Serve(ctx, ln, "", "")
	log.Info("helper: serve returned", "err", serr)
	if err := st.Close(); err != nil {
		return fail("closing the store", err)
	}
	if serr != nil {
		return fail("serve", serr)
	}
	return 0
}

// syncBuffer is a bytes.Buffer safe for concurrent use: the helper's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// helper is a running helper server process.
type helper struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // host:port
	url    string
	stderr *syncBuffer
	done   chan struct{} // closed once the process has exited and Wait returned
	err    error         // Wait's result, valid after done
}

// startHelper starts a helper server on dataDir and waits until it listens. The child is the test binary itself
// (so it is built with -race when the test is).
func startHelper(t *testing.T, dataDir, adminKey string, analyses int) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$") // TestMain runs the helper
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperDataEnv+"="+dataDir, "FACEGATE_ADMIN_KEY="+adminKey,
		helperAnalysesEnv+"="+strconv.Itoa(analyses))
	h := &helper{t: t, cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = h.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), helperListening+" "); ok {
				addrc <- a
			}
		}
		io.Copy(io.Discard, out)
		h.err = cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() {
		select {
		case <-h.done:
		default:
			_ = cmd.Process.Kill()
			<-h.done
		}
	})
	select {
	case h.addr = <-addrc:
	case <-h.done:
		t.Fatalf("helper server exited before listening: %v\n%s", h.err, h.stderrTail())
	case <-time.After(2 * time.Minute):
		t.Fatalf("helper server not listening after 2 minutes\n%s", h.stderrTail())
	}
	h.url = "http://" + h.addr
	t.Logf("helper server pid %d listening on %s after %s", cmd.Process.Pid, h.addr, time.Since(start).Round(time.Millisecond))
	return h
}

// stderrTail is the end of the helper's log, for failure messages.
func (h *helper) stderrTail() string {
	s := h.stderr.String()
	const keep = 6000
	if len(s) > keep {
		s = "...\n" + s[len(s)-keep:]
	}
	return "--- helper stderr ---\n" + s + "--- end of helper stderr ---"
}

// kill SIGKILLs the helper and waits for it to be gone.
func (h *helper) kill() {
	h.t.Helper()
	if err := h.cmd.Process.Kill(); err != nil {
		h.t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-h.done:
	case <-time.After(30 * time.Second):
		h.t.Fatal("helper still running 30 s after SIGKILL")
	}
	ws, ok := h.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok && (!ws.Signaled() || ws.Signal() != syscall.SIGKILL) {
		h.t.Fatalf("helper ended on its own before the SIGKILL (%v)\n%s", h.err, h.stderrTail())
	}
	h.checkLog()
}

// checkLog fails the test if the helper reported a data race, a panic or a failed request.
func (h *helper) checkLog() {
	h.t.Helper()
	log := h.stderr.String()
	for _, bad := range []string{"WARNING: DATA RACE", "panic:", "fatal error:", "level=ERROR"} {
		if strings.Contains(log, bad) {
			h.t.Errorf("helper log contains %q\n%s", bad, h.stderrTail())
			return
		}
	}
}

var indexLoadedRE = regexp.MustCompile(`msg="index loaded" templates=(\d+)`)

// indexLoaded is the number of templates the helper logged loading into its index at start.
func (h *helper) indexLoaded() int {
	h.t.Helper()
	m := indexLoadedRE.FindStringSubmatch(h.stderr.String())
	if m == nil {
		h.t.Fatalf("no \"index loaded\" line in the helper's log\n%s", h.stderrTail())
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func (h *helper) client(key string) *api.Client {
	h.t.Helper()
	c, err := api.NewClient(h.url, key, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	c.Retries = 0 // no rate limit; a request is sent at most once
	return c
}

// skipWithoutModels skips the test when the model pack (or the platform's process control) is missing.
func skipWithoutModels(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs SIGKILL and SIGTERM")
	}
	testenv.ModelPack(t)
}

func randomKey() string {
	return fmt.Sprintf("fg_test_%016x%016x", rand.Uint64(), rand.Uint64())
}

// --- enrolment images ---

// variant is an enrolment image: a crop of one of the bundled group photos, sent as binary PPM. Every subject
// gets crops of its own, so its templates differ from every other subject's (a search finds it, not a tie), and
// the crop is rebuilt from its description rather than kept.
type variant struct {
	sample     int
	x, y, w, h int
}

type photos []*imgio.Image

// loadPhotos decodes sample1..6.jpg at half size (2x2 box filter): the faces stay well above the detector's
// minimum, and each request costs the server about a quarter as much, so more writes fit in a round.
func loadPhotos(t *testing.T) photos {
	t.Helper()
	var ps photos
	for i := 1; i <= 6; i++ {
		img, _, err := imgio.Decode(readNPM(t, fmt.Sprintf("sample%d.jpg", i)), imgio.Limits{})
		if err != nil {
			t.Fatalf("sample%d.jpg: %v", i, err)
		}
		half := imgio.NewImage(img.W/2, img.H/2)
		for y := range half.H {
			r0, r1 := img.Pix[2*y*img.W*3:], img.Pix[(2*y+1)*img.W*3:]
			out := half.Pix[y*half.W*3:]
			for x := range half.W * 3 {
				j := x/3*6 + x%3 // channel x%3 of source pixel 2*(x/3)
				out[x] = uint8((int(r0[j]) + int(r0[j+3]) + int(r1[j]) + int(r1[j+3]) + 2) / 4)
			}
		}
		ps = append(ps, half)
	}
	return ps
}

// randomVariant is a random crop, 65-90% of each side, of photo sample. Most hold a face or several; a crop
// with none is refused (422) and must leave nothing behind.
func (ps photos) randomVariant(rng *rand.Rand, sample int) variant {
	im := ps[sample]
	w := im.W * (65 + rng.IntN(26)) / 100
	h := im.H * (65 + rng.IntN(26)) / 100
	return variant{sample: sample, x: rng.IntN(im.W - w + 1), y: rng.IntN(im.H - h + 1), w: w, h: h}
}

// encode returns the variant as a binary PPM.
func (ps photos) encode(v variant) []byte {
	im := ps[v.sample]
	hdr := fmt.Sprintf("P6\n%d %d\n255\n", v.w, v.h)
	out := make([]byte, len(hdr)+v.w*v.h*3)
	n := copy(out, hdr)
	for y := range v.h {
		row := ((v.y+y)*im.W + v.x) * 3
		n += copy(out[n:], im.Pix[row:row+v.w*3])
	}
	return out
}

// sha is how the server identifies an enrolment image (FaceRecord.Source).
func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// --- what the clients sent and what the server said ---

// outcome is what the client knows of a write.
type outcome int

const (
	unanswered outcome = iota // no response (killed in flight): it may or may not have landed
	acked                     // 2xx: it must be there, whatever happens after
	refused                   // 4xx: the server said nothing was stored: it must not be there
)

func (o outcome) String() string { return [...]string{"unanswered", "acknowledged", "refused"}[o] }

// subjectWrite is one subject creation: a subject with two faces from two different images, in one request.
type subjectWrite struct {
	ext       string // external ID, unique per attempt: how a subject is found whether or not it was acknowledged
	round     int
	images    [2]variant
	sources   [2]string
	state     outcome
	id        string            // subject ID, once acknowledged
	faceIDs   map[string]string // source -> face ID, once acknowledged
	ackedAt   time.Time
	enrolment []*faceWrite // single faces added afterwards
}

// faceWrite is one single-face enrolment of an existing subject.
type faceWrite struct {
	round  int
	image  variant
	source string
	state  outcome
	faceID string
}

// ledger records every write the clients attempted and its outcome.
type ledger struct {
	mu       sync.Mutex
	subjects map[string]*subjectWrite // by external ID
	acked    []*subjectWrite          // acknowledged creations, in order
	problems []string                 // unexpected responses
	killed   atomic.Bool              // set just before the SIGKILL: transport errors are expected from then on
	counts   map[string]int           // per round: what happened, for the log
}

func newLedger() *ledger {
	return &ledger{subjects: map[string]*subjectWrite{}, counts: map[string]int{}}
}

func (l *ledger) problem(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.problems = append(l.problems, fmt.Sprintf(format, args...))
}

// classify turns a request's error into an outcome, recording anything unexpected.
func (l *ledger) classify(what string, err error) outcome {
	if err == nil {
		return acked
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		if ae.Status == http.StatusUnprocessableEntity {
			return refused // an image failed the quality gate (a crop with no usable face): nothing stored
		}
		l.problem("%s: unexpected response: %v", what, err)
		if ae.Status < 500 {
			return refused
		}
		return unanswered
	}
	if !l.killed.Load() {
		l.problem("%s: transport error before the server was killed: %v", what, err)
	}
	return unanswered
}

// load runs concurrent clients creating subjects (two images each, one request) and adding single faces to
// acknowledged subjects, until stop is closed.
func (l *ledger) load(c *api.Client, ps photos, gallery string, round, workers int, stop <-chan struct{}) *sync.WaitGroup {
	opt := api.EnrolOptions{TakeLargest: true, AllowDuplicate: true, MinQuality: ptr(float32(0)), MinSize: ptr(float32(0)),
		MaxYaw: ptr(float32(90)), MaxPitch: ptr(float32(90)), AllowEyesClosed: true}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(w)))
			ctx := context.Background()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var target *subjectWrite
				if rng.IntN(3) == 0 {
					l.mu.Lock()
					if len(l.acked) > 0 {
						target = l.acked[rng.IntN(len(l.acked))]
					}
					l.mu.Unlock()
				}
				if target != nil {
					l.enrolOne(ctx, c, ps, rng, gallery, round, target, opt)
					continue
				}
				s := &subjectWrite{ext: fmt.Sprintf("r%d-w%d-%d", round, w, i), round: round}
				a := rng.IntN(len(ps))
				b := (a + 1 + rng.IntN(len(ps)-1)) % len(ps) // a different photo
				s.images = [2]variant{ps.randomVariant(rng, a), ps.randomVariant(rng, b)}
				imgs := [][]byte{ps.encode(s.images[0]), ps.encode(s.images[1])}
				s.sources = [2]string{sha(imgs[0]), sha(imgs[1])}
				l.mu.Lock()
				l.subjects[s.ext] = s // recorded before it is sent
				l.mu.Unlock()
				res, err := c.CreateSubject(ctx, gallery, api.SubjectRequest{ExternalID: &s.ext, Consent: &api.ConsentRequest{GivenBy: s.ext, Evidence: "crash test"}}, opt, imgs...)
				st := l.classify("create subject "+s.ext, err)
				l.mu.Lock()
				s.state = st
				l.counts["create "+st.String()]++
				if st == acked {
					s.id, s.ackedAt, s.faceIDs = res.Subject.ID, time.Now(), map[string]string{}
					for _, f := range res.Faces {
						s.faceIDs[f.Source] = f.ID
					}
					if len(res.Faces) != 2 || s.faceIDs[s.sources[0]] == "" || s.faceIDs[s.sources[1]] == "" {
						l.problems = append(l.problems, fmt.Sprintf("create subject %s: acknowledged with faces %+v, want one from each of %v", s.ext, res.Faces, s.sources))
					}
					l.acked = append(l.acked, s)
				}
				l.mu.Unlock()
			}
		}()
	}
	return &wg
}

func (l *ledger) enrolOne(ctx context.Context, c *api.Client, ps photos, rng *rand.Rand, gallery string, round int, s *subjectWrite, opt api.EnrolOptions) {
	f := &faceWrite{round: round, image: ps.randomVariant(rng, rng.IntN(len(ps)))}
	img := ps.encode(f.image)
	f.source = sha(img)
	l.mu.Lock()
	s.enrolment = append(s.enrolment, f)
	l.mu.Unlock()
	res, err := c.Enrol(ctx, gallery, s.id, img, opt)
	st := l.classify(fmt.Sprintf("enrol a face of %s (%s)", s.ext, s.id), err)
	l.mu.Lock()
	defer l.mu.Unlock()
	f.state = st
	l.counts["enrol "+st.String()]++
	if st == acked {
		f.faceID = res.Face.ID
		if res.Duplicate || res.Face.Source != f.source || res.Face.SubjectID != s.id {
			l.problems = append(l.problems, fmt.Sprintf("enrol a face of %s: acknowledged %+v (duplicate %v), want a new face from %s", s.ext, res.Face, res.Duplicate, f.source))
		}
	}
}

// --- what the server holds ---

// snapshot is the gallery as read back: through the restarted server's API, or from the database file.
type snapshot struct {
	subjects map[string]*snapSubject // by external ID
	faces    int                     // faces of the listed subjects
	orphans  []string                // faces of no subject (only the database read can see them)
}

type snapSubject struct {
	id    string
	faces map[string]string // source -> face ID
	n     int               // faces listed (more than len(faces) if two shared a source)
}

// apiSnapshot lists every subject of the gallery and its faces through the API.
func apiSnapshot(t *testing.T, c *api.Client, gallery string) *snapshot {
	t.Helper()
	ctx := context.Background()
	snap := &snapshot{subjects: map[string]*snapSubject{}}
	after := ""
	for {
		page, err := c.Subjects(ctx, gallery, after, 1000)
		if err != nil {
			t.Fatalf("listing subjects: %v", err)
		}
		for _, s := range page.Subjects {
			faces, err := c.Faces(ctx, gallery, s.ID)
			if err != nil {
				t.Fatalf("listing the faces of %s: %v", s.ID, err)
			}
			ss := &snapSubject{id: s.ID, faces: map[string]string{}, n: len(faces)}
			for _, f := range faces {
				ss.faces[f.Source] = f.ID
			}
			if snap.subjects[s.ExternalID] != nil {
				t.Errorf("two subjects with external ID %q", s.ExternalID)
			}
			snap.subjects[s.ExternalID] = ss
			snap.faces += len(faces)
		}
		if page.Next == "" {
			return snap
		}
		after = page.Next
	}
}

// dbSnapshot reads the gallery straight from the database file of a killed server, read-only, after SQLite's
// integrity and foreign-key checks.
func dbSnapshot(t *testing.T, dataDir, galleryID string) *snapshot {
	t.Helper()
	path := filepath.Join(dataDir, sqlite.FileName)
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: "mode=ro&_pragma=busy_timeout(10000)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatalf("opening %s read-only: %v", path, err)
	}
	defer db.Close()
	var integrity []string
	rows, err := db.Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatalf("%s: integrity_check: %v", path, err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		integrity = append(integrity, s)
	}
	rows.Close()
	if len(integrity) != 1 || integrity[0] != "ok" {
		t.Errorf("%s: PRAGMA integrity_check: %q", path, integrity)
	}
	rows, err = db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("%s: foreign_key_check: %v", path, err)
	}
	for rows.Next() {
		var table, parent string
		var rowid, fk sql.NullInt64
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s: foreign key violation: %s row %v references a missing %s", path, table, rowid.Int64, parent)
	}
	rows.Close()

	snap := &snapshot{subjects: map[string]*snapSubject{}}
	byID := map[string]*snapSubject{}
	rows, err = db.Query("SELECT id, external_id FROM subjects WHERE gallery_id = ?", galleryID)
	if err != nil {
		t.Fatalf("%s: subjects: %v", path, err)
	}
	for rows.Next() {
		var id, ext string
		if err := rows.Scan(&id, &ext); err != nil {
			t.Fatal(err)
		}
		ss := &snapSubject{id: id, faces: map[string]string{}}
		snap.subjects[ext], byID[id] = ss, ss
	}
	rows.Close()
	rows, err = db.Query("SELECT id, gallery_id, subject_id, source FROM faces")
	if err != nil {
		t.Fatalf("%s: faces: %v", path, err)
	}
	for rows.Next() {
		var id, gid, sid, src string
		if err := rows.Scan(&id, &gid, &sid, &src); err != nil {
			t.Fatal(err)
		}
		ss := byID[sid]
		if ss == nil || gid != galleryID {
			snap.orphans = append(snap.orphans, fmt.Sprintf("%s (gallery %s, subject %s)", id, gid, sid))
			continue
		}
		ss.faces[src] = id
		ss.n++
		snap.faces++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	// A subject is created with its audit entry, in one transaction: after a SIGKILL, each subject has its
	// creation entry and each creation entry its subject (issue 12: 286 subjects, 284 entries).
	rows, err = db.Query(`SELECT json_extract(details, '$.created') FROM audit_log
		WHERE action = 'POST /v1/galleries/{g}/subjects' AND outcome = 'ok' AND json_extract(details, '$.created') IS NOT NULL`)
	if err != nil {
		t.Fatalf("%s: audit log: %v", path, err)
	}
	audited := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		audited[id] = true
		if byID[id] == nil {
			t.Errorf("%s: the audit log records the creation of subject %s, which does not exist", path, id)
		}
	}
	rows.Close()
	for id := range byID {
		if !audited[id] {
			t.Errorf("%s: subject %s exists without its creation entry in the audit log", path, id)
		}
	}
	return snap
}

// check compares what the server holds with what the clients were told; it returns every violation.
func (l *ledger) check(snap *snapshot) (problems []string, landed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, o := range snap.orphans {
		bad("face %s belongs to no subject", o)
	}
	for ext, ss := range snap.subjects {
		w := l.subjects[ext]
		if w == nil {
			bad("subject %s has external ID %q, which no client sent", ss.id, ext)
			continue
		}
		switch {
		case w.state == refused:
			bad("subject %q (round %d) exists, but its creation was refused (4xx: nothing stored)", ext, w.round)
		case w.state == acked && ss.id != w.id:
			bad("subject %q is %s, but its creation was acknowledged as %s", ext, ss.id, w.id)
		case w.state == unanswered:
			landed++
		}
		if ss.n != len(ss.faces) {
			bad("subject %q (%s) has %d faces from %d distinct images", ext, ss.id, ss.n, len(ss.faces))
		}
		have := 0
		for _, src := range w.sources {
			if ss.faces[src] != "" {
				have++
			}
		}
		if have != 2 {
			bad("PARTIAL SUBJECT %q (%s, created in round %d, %s): %d of the 2 faces of its creation request; it has faces from %v, created from %v",
				ext, ss.id, w.round, w.state, have, slices.Sorted(maps.Keys(ss.faces)), w.sources)
		}
		for src, id := range ss.faces {
			if src == w.sources[0] || src == w.sources[1] {
				if want := w.faceIDs[src]; w.state == acked && id != want {
					bad("subject %q: face from %.12s is %s, acknowledged as %s", ext, src, id, want)
				}
				continue
			}
			var f *faceWrite
			for _, e := range w.enrolment {
				if e.source == src {
					f = e
				}
			}
			switch {
			case f == nil:
				bad("subject %q has face %s from image %.12s, which no client sent for it", ext, id, src)
			case f.state == refused:
				bad("subject %q has face %s from image %.12s, whose enrolment was refused (4xx: nothing stored)", ext, id, src)
			case f.state == acked && f.faceID != id:
				bad("subject %q: face from %.12s is %s, acknowledged as %s", ext, src, id, f.faceID)
			}
		}
	}
	for ext, w := range l.subjects {
		ss := snap.subjects[ext]
		if w.state == acked && ss == nil {
			bad("LOST: subject %q (%s), acknowledged in round %d at %s, is missing", ext, w.id, w.round, w.ackedAt.Format("15:04:05.000"))
			continue
		}
		for _, f := range w.enrolment {
			if f.state == acked && (ss == nil || ss.faces[f.source] != f.faceID) {
				bad("LOST: face %s of subject %q (%s), acknowledged in round %d, is missing", f.faceID, ext, w.id, f.round)
			}
		}
	}
	slices.Sort(problems)
	return problems, landed
}

// sameSnapshot reports how the restarted server's view differs from the database file's.
func sameSnapshot(served, file *snapshot) []string {
	var out []string
	for ext, d := range file.subjects {
		a := served.subjects[ext]
		switch {
		case a == nil:
			out = append(out, fmt.Sprintf("subject %q (%s) is in the database file but not listed by the restarted server", ext, d.id))
		case a.id != d.id || a.n != d.n || len(a.faces) != len(d.faces):
			out = append(out, fmt.Sprintf("subject %q: the restarted server lists %s with %d faces, the file holds %s with %d", ext, a.id, a.n, d.id, d.n))
		}
	}
	for ext, a := range served.subjects {
		if file.subjects[ext] == nil {
			out = append(out, fmt.Sprintf("subject %q (%s) is listed by the restarted server but not in the database file", ext, a.id))
		}
	}
	return out
}

// verify checks a restarted server against the ledger and against the database file it was started on.
func (l *ledger) verify(t *testing.T, h *helper, c *api.Client, ps photos, gallery string, fromFile *snapshot, label string) *snapshot {
	t.Helper()
	ctx := context.Background()
	if err := c.Health(ctx); err != nil {
		t.Fatalf("%s: not ready: %v", label, err)
	}
	snap := apiSnapshot(t, c, gallery)
	problems, landed := l.check(snap)
	problems = append(problems, sameSnapshot(snap, fromFile)...)
	// The index the server loaded at start agrees with the store.
	gi, err := c.Gallery(ctx, gallery)
	if err != nil {
		t.Fatalf("%s: gallery: %v", label, err)
	}
	withFaces := 0
	for _, s := range snap.subjects {
		if s.n > 0 {
			withFaces++
		}
	}
	if loaded := h.indexLoaded(); loaded != snap.faces || gi.Templates != snap.faces || gi.Subjects != withFaces {
		problems = append(problems, fmt.Sprintf("index and store disagree: %d templates loaded at start, gallery reports %d templates of %d subjects; the API lists %d faces of %d subjects with faces",
			loaded, gi.Templates, gi.Subjects, snap.faces, withFaces))
	}

	// Search finds acknowledged subjects: the last one acknowledged before the kill, and a random one.
	l.mu.Lock()
	var probes []*subjectWrite
	if n := len(l.acked); n > 0 {
		last := l.acked[0]
		for _, s := range l.acked {
			if s.ackedAt.After(last.ackedAt) {
				last = s
			}
		}
		probes = append(probes, last, l.acked[rand.IntN(n)])
	}
	l.mu.Unlock()
	for _, s := range probes {
		img := ps.encode(s.images[0])
		res, err := c.Search(ctx, gallery, img, 3)
		if err != nil {
			t.Fatalf("%s: search: %v", label, err)
		}
		found := false
		var tops []string
		for _, f := range res.Faces {
			if len(f.Candidates) == 0 {
				continue
			}
			top := f.Candidates[0]
			tops = append(tops, fmt.Sprintf("%s/%s %.4f", top.ExternalID, top.FaceID, top.Score))
			if top.SubjectID == s.id && top.FaceID == s.faceIDs[s.sources[0]] {
				found = true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("searching the first image of acknowledged subject %q (%s, face %s) does not find it: top candidates of the %d faces: %v",
				s.ext, s.id, s.faceIDs[s.sources[0]], len(res.Faces), tops))
		}
	}

	l.mu.Lock()
	acks, unansweredN, refusedN := 0, 0, 0
	for _, w := range l.subjects {
		switch w.state {
		case acked:
			acks++
		case unanswered:
			unansweredN++
		case refused:
			refusedN++
		}
	}
	l.mu.Unlock()
	t.Logf("%s: %d subjects and %d faces present; creations so far: %d acknowledged, %d refused, %d unanswered of which %d landed (complete); %d searches checked",
		label, len(snap.subjects), snap.faces, acks, refusedN, unansweredN, landed, len(probes))
	for _, p := range problems {
		t.Errorf("%s: %s", label, p)
	}
	if len(problems) > 0 {
		t.Log(h.stderrTail())
		t.FailNow()
	}
	return snap
}

// TestCrashDurability kills the server with SIGKILL at random moments under enrolment load and checks, after
// each restart on the same data directory, that every acknowledged write is present, that no subject is partial
// (a subject created with two images has both faces or does not exist), that no face outlives its subject, that
// the in-memory index agrees with the store, and that search finds acknowledged subjects.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	skipWithoutModels(t)
	ps := loadPhotos(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	adminKey := randomKey()
	const rounds, workers = 3, 4

	h := startHelper(t, dataDir, adminKey, 0)
	c := h.client(adminKey)
	name := "crash"
	g, err := c.CreateGallery(context.Background(), api.GalleryRequest{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	l := newLedger()
	var last *snapshot
	for round := range rounds {
		l.killed.Store(false)
		clear(l.counts)
		l.mu.Lock()
		before := len(l.acked)
		l.mu.Unlock()
		start := time.Now()
		delay := 500*time.Millisecond + rand.N(2500*time.Millisecond)
		stop := make(chan struct{})
		wg := l.load(c, ps, name, round, workers, stop)
		// Kill at a random moment 0.5-3 s after the round's first acknowledgement (a write takes the server
		// about 2 s under this load on 2 cores, -race included).
		var killAt time.Time
		for {
			l.mu.Lock()
			n := len(l.acked) - before
			l.mu.Unlock()
			if n > 0 && killAt.IsZero() {
				killAt = time.Now().Add(delay)
			}
			if !killAt.IsZero() && time.Now().After(killAt) {
				break
			}
			if time.Since(start) > time.Minute {
				close(stop)
				t.Fatalf("round %d: no acknowledgement in a minute of load\n%v\n%s", round, l.problems, h.stderrTail())
			}
			time.Sleep(5 * time.Millisecond)
		}
		close(stop) // the clients start nothing new; what is in flight meets the SIGKILL
		l.killed.Store(true)
		h.kill()
		wg.Wait()
		l.mu.Lock()
		t.Logf("round %d: SIGKILL %s into the load, %s after its first acknowledgement; this round: %v", round,
			time.Since(start).Round(time.Millisecond), delay.Round(time.Millisecond), l.counts)
		problems := slices.Clone(l.problems)
		l.mu.Unlock()
		if len(problems) > 0 {
			t.Fatalf("round %d: unexpected responses under load:\n%s\n%s", round, strings.Join(problems, "\n"), h.stderrTail())
		}

		fromFile := dbSnapshot(t, dataDir, g.ID)
		if bad, _ := l.check(fromFile); len(bad) > 0 {
			t.Fatalf("round %d: the database file after SIGKILL:\n%s", round, strings.Join(bad, "\n"))
		}
		h = startHelper(t, dataDir, adminKey, 0)
		c = h.client(adminKey)
		last = l.verify(t, h, c, ps, name, fromFile, fmt.Sprintf("after kill %d", round+1))
	}

	// A last clean stop, then the store reopened directly.
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-h.done
	if h.err != nil {
		t.Fatalf("helper exited with %v after SIGTERM\n%s", h.err, h.stderrTail())
	}
	h.checkLog()
	st, err := sqlite.Open(dataDir)
	if err != nil {
		t.Fatalf("reopening the store: %v", err)
	}
	defer st.Close()
	n := 0
	if err := st.EachTemplate(context.Background(), func(*facegate.FaceRecord) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != last.faces {
		t.Errorf("the store reopened after a clean stop holds %d templates; the server listed %d faces before it", n, last.faces)
	}
	l.mu.Lock()
	t.Logf("end: %d templates stored, %d acknowledged subject creations over %d rounds", n, len(l.acked), rounds)
	l.mu.Unlock()
}

// TestGracefulShutdown sends SIGTERM to the server while slow requests are in flight: each of them must complete
// with 200, new connections must be refused, and the process must exit 0 with its store closed.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("process test in -short mode")
	}
	skipWithoutModels(t)
	const inflight = 4
	dataDir := filepath.Join(t.TempDir(), "data")
	adminKey := randomKey()
	h := startHelper(t, dataDir, adminKey, inflight) // exactly as many analysis slots as requests
	c := h.client(adminKey)
	name := "graceful"
	if _, err := c.CreateGallery(context.Background(), api.GalleryRequest{Name: &name}); err != nil {
		t.Fatal(err)
	}

	type result struct {
		res *api.SearchResponse
		err error
		at  time.Time
	}
	results := make([]result, inflight)
	var finished atomic.Int32
	var wg sync.WaitGroup
	for i := range inflight {
		img := readNPM(t, fmt.Sprintf("sample%d.jpg", 1+i%6)) // group photos: every face is embedded
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Search(context.Background(), name, img, 5)
			results[i] = result{res, err, time.Now()}
			finished.Add(1)
		}()
	}
	// Wait until every request is being analysed: then it is inside a handler, not in the accept queue.
	metrics := func() float64 {
		req, _ := http.NewRequest("GET", h.url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("metrics: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^facegate_analyses_in_progress (\S+)$`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("no facegate_analyses_in_progress in /metrics:\n%s", body)
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	deadline := time.Now().Add(time.Minute)
	for metrics() < inflight {
		if finished.Load() > 0 || time.Now().After(deadline) {
			t.Fatalf("the %d searches were never analysed at once (%d finished): the test needs slower requests", inflight, finished.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	http.DefaultClient.CloseIdleConnections()
	sigterm := time.Now()
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// The listener closes at once: new connections are refused while the requests are still running.
	refusedAt, pendingThen := time.Time{}, 0
	for time.Since(sigterm) < 10*time.Second {
		conn, err := net.DialTimeout("tcp", h.addr, time.Second)
		if err != nil {
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dialling after SIGTERM: %v, want connection refused", err)
			}
			refusedAt, pendingThen = time.Now(), inflight-int(finished.Load())
			break
		}
		conn.Close()
		time.Sleep(5 * time.Millisecond)
	}
	if refusedAt.IsZero() {
		t.Errorf("new connections still accepted 10 s after SIGTERM")
	}

	wg.Wait()
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("in-flight search %d: %v (%s after SIGTERM)", i, r.err, r.at.Sub(sigterm).Round(time.Millisecond))
		case len(r.res.Faces) == 0:
			t.Errorf("in-flight search %d: 200 with no faces", i)
		}
	}
	select {
	case <-h.done:
	case <-time.After(45 * time.Second):
		t.Fatalf("helper still running 45 s after SIGTERM\n%s", h.stderrTail())
	}
	if h.err != nil {
		t.Errorf("helper exited with %v after SIGTERM, want 0\n%s", h.err, h.stderrTail())
	}
	h.checkLog()
	var last time.Time
	for _, r := range results {
		if r.at.After(last) {
			last = r.at
		}
	}
	t.Logf("SIGTERM with %d searches in flight: connections refused after %s with %d still running; last search done after %s; exited after %s",
		inflight, refusedAt.Sub(sigterm).Round(time.Millisecond), pendingThen, last.Sub(sigterm).Round(time.Millisecond), time.Since(sigterm).Round(time.Millisecond))
	if pendingThen == 0 && !refusedAt.IsZero() {
		t.Log("note: every search had finished before the refusal was observed")
	}
	if _, err := net.DialTimeout("tcp", h.addr, time.Second); err == nil {
		t.Error("connection accepted after the server exited")
	}
	if err := c.Health(context.Background()); err == nil {
		t.Error("request answered after the server exited")
	}
	// The store was closed: SQLite's last connection checkpoints the WAL and removes it.
	if fi, err := os.Stat(filepath.Join(dataDir, sqlite.FileName+"-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("the WAL (%d bytes) is still there after a graceful exit: was the store closed?", fi.Size())
	}
}
