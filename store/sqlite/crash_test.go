package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
)

// The crash test re-executes the test binary as TestHelperProcess, which enrols subjects with their faces as
// fast as it can and prints "ACK <subject ID> <faces>" once each enrolment has returned. The parent kills it with
// SIGKILL at a random moment and checks that the database holds every acknowledged subject with all its faces,
// and no subject without its faces.
const (
	helperEnv     = "FACEGATE_SQLITE_CRASH_HELPER"
	helperDirEnv  = "FACEGATE_SQLITE_CRASH_DIR"
	helperGalEnv  = "FACEGATE_SQLITE_CRASH_GALLERY"
	crashTemplate = 64
)

// TestMain runs the child process of TestCrashDurability when the test binary is started as that helper, and the
// tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		crashHelper()
	}
	os.Exit(m.Run())
}

// crashHelper is the child of TestCrashDurability: it creates subjects until killed, acknowledging each on stdout.
func crashHelper() {
	db, err := Open(os.Getenv(helperDirEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	gid := os.Getenv(helperGalEnv)
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute) // never outlive a parent that failed to kill us
	for i := 0; time.Now().Before(deadline); i++ {
		n := 1 + i%3
		s := &facegate.Subject{GalleryID: gid, DisplayName: fmt.Sprintf("crash %d", i), Metadata: map[string]string{"faces": strconv.Itoa(n)}}
		faces := make([]*facegate.FaceRecord, n)
		for j := range faces {
			faces[j] = &facegate.FaceRecord{Template: template(uint64(i*10+j), crashTemplate), Thumbnail: []byte(fmt.Sprintf("thumb %d/%d", i, j))}
		}
		if err := db.CreateSubjectWithFaces(ctx, s, faces); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		// os.Stdout is unbuffered: the line is in the pipe as soon as Fprintf returns.
		fmt.Fprintf(os.Stdout, "ACK %s %d\n", s.ID, n)
	}
	os.Exit(3)
}

func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGallery(t, db, "crash")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	acked := map[string]int{} // subject ID -> faces, over every round: the same database is crashed repeatedly
	for round := range 3 {
		target := 100 + rand.IntN(300)
		ids := runAndKill(t, dir, g.ID, target)
		for id, n := range ids {
			acked[id] = n
		}
		t.Logf("round %d: killed after %d acknowledged enrolments (target %d)", round, len(ids), target)

		db, err := Open(dir)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		checkCrashed(t, db, g.ID, acked)
		var ok string
		if err := db.write.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
			t.Errorf("round %d: integrity_check: %q, %v", round, ok, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// runAndKill starts the helper, reads at least target acknowledgements, waits a random moment, SIGKILLs it and
// returns every acknowledgement it printed (including those still in the pipe at the kill).
func runAndKill(t *testing.T, dir, gid string, target int) map[string]int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$") // TestMain runs the helper
	cmd.Env = append(os.Environ(), helperEnv+"=1", helperDirEnv+"="+dir, helperGalEnv+"="+gid)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(90*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()

	acks := map[string]int{}
	r := bufio.NewReader(out)
	killed := false
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF {
			break // a partial last line (none is expected) was not an acknowledgement
		}
		if err != nil {
			t.Fatal(err)
		}
		var id string
		var n int
		if _, err := fmt.Sscanf(line, "ACK %s %d\n", &id, &n); err != nil {
			continue // the testing package's own output
		}
		acks[id] = n
		if !killed && len(acks) >= target {
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond) // kill mid-transaction, or between
			if err := cmd.Process.Kill(); err != nil {                    // SIGKILL
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("helper ended after %d acknowledgements without being killed: %v\n%s", len(acks), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); ok && !ws.Signaled() {
		t.Fatalf("helper was not killed by the signal: %v\n%s", err, stderr.String())
	}
	return acks
}

// checkCrashed asserts every acknowledged subject survived with all its faces and that no subject lost any.
func checkCrashed(t *testing.T, db *DB, gid string, acked map[string]int) {
	t.Helper()
	ctx := context.Background()
	for id, n := range acked {
		s, err := db.Subject(ctx, gid, id)
		if err != nil {
			t.Errorf("acknowledged subject %s: %v", id, err)
			continue
		}
		faces, err := db.Faces(ctx, gid, s.ID)
		if err != nil || len(faces) != n {
			t.Errorf("acknowledged subject %s: %d faces, %v; want %d", id, len(faces), err, n)
		}
	}
	// Every stored subject, acknowledged or not (the kill may have come after the commit but before the print),
	// has exactly the faces it was enrolled with.
	total, after := 0, ""
	for {
		page, err := db.Subjects(ctx, gid, facegate.Page{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, s := range page {
			faces, err := db.Faces(ctx, gid, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := strconv.Atoi(s.Metadata["faces"])
			if len(faces) == 0 || len(faces) != want {
				t.Errorf("subject %s: %d faces, enrolled with %d (a partial enrolment)", s.ID, len(faces), want)
			}
			for _, f := range faces {
				if len(f.Template) != crashTemplate {
					t.Errorf("face %s: template of %d", f.ID, len(f.Template))
				}
			}
		}
		total += len(page)
		after = page[len(page)-1].ID
	}
	if total < len(acked) || total > len(acked)+3 {
		t.Errorf("%d subjects stored, %d acknowledged", total, len(acked))
	}
}
