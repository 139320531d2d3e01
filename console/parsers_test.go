package console

import (
	"github.com/facegate/facegate/internal/testutil/testenv"
	"os/exec"
	"testing"
)

// TestStreamParsers runs console/e2e/parsers.test.mjs: the live view's MJPEG and Server-Sent Events readers,
// fed in chunks of 1 byte and more. It needs node (skipped without it).
func TestStreamParsers(t *testing.T) {
	node := testenv.Node(t)
	out, err := exec.Command(node, "e2e/parsers.test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", out)
}
