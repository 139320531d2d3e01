package cli

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/server"
	"github.com/facegate/facegate/store/sqlite"
)

// evalTestServer starts a real server on loopback with a temporary store and returns its URL and admin key.
func evalTestServer(t *testing.T) (string, string) {
	t.Helper()
	return testServer(t, nil)
}

// testServer is evalTestServer with the server's handler wrapped by wrap (when not nil), so that a test can
// watch the requests.
func testServer(t *testing.T, wrap func(http.Handler) http.Handler) (string, string) {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(context.Background(), server.Config{Store: st, Engine: testutil.Engine(t),
		Index: index.New(facegate.TemplateDim), Logger: slog.New(slog.DiscardHandler), RatePerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	key, err := srv.EnsureAdminKey(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	return hs.URL, key
}

// TestEvalIdentifyThroughServer runs the 1:N evaluation through a real server and checks that it gives the
// local engine's figures exactly, and that it leaves no gallery behind.
func TestEvalIdentifyThroughServer(t *testing.T) {
	root := testutil.Shared(t, "face_recognition_examples/identity")
	url, key := evalTestServer(t)
	code, out, errs := run(t, "eval", "identify", "--root", root, "--json")
	if code != ExitOK {
		t.Fatalf("local: exit %d: %s", code, errs)
	}
	var local, remote IdentifyReport
	if err := json.Unmarshal([]byte(out), &local); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run(t, "eval", "identify", "--root", root, "--json", "--server", url, "--key", key, "--workers", "3")
	if code != ExitOK {
		t.Fatalf("server: exit %d: %s", code, errs)
	}
	if err := json.Unmarshal([]byte(out), &remote); err != nil {
		t.Fatal(err)
	}
	if remote.Server != url || remote.Probes != local.Probes || remote.GalleryFaces != local.GalleryFaces || remote.Failed != 0 ||
		remote.Rank1 != local.Rank1 || remote.Rank5 != local.Rank5 {
		t.Errorf("through the server %+v\nlocal %+v", remote, local)
	}
	for k, v := range local.ThrAtFPIR {
		if math.Abs(remote.ThrAtFPIR[k]-v) > 1e-6 || remote.FNIRAtFPIR[k] != local.FNIRAtFPIR[k] {
			t.Errorf("FPIR %s: server threshold %v FNIR %v, local %v %v", k, remote.ThrAtFPIR[k], remote.FNIRAtFPIR[k], v, local.FNIRAtFPIR[k])
		}
	}
	c, _ := api.NewClient(url, key, nil)
	if gs, err := c.Galleries(context.Background()); err != nil || len(gs) != 0 {
		t.Errorf("galleries left after the evaluation: %+v %v", gs, err)
	}
	// A wrong key fails with a message and exit status 1.
	code, _, errs = run(t, "eval", "identify", "--root", root, "--server", url, "--key", "fg_wrong")
	if code != ExitError || errs == "" {
		t.Errorf("wrong key: exit %d, %q", code, errs)
	}
}
