package cli

import (
	"fmt"
	"path/filepath"
	"runtime"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/modelpack"
	"github.com/facegate/facegate/internal/onnx"
)

func runVersion(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "version", "version [--models DIR]")
	c.register(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	pack := modelpack.Manifest()
	out := env.Stdout
	fmt.Fprintf(out, "facegate %s (%s, %s/%s)\n", facegate.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	paths, locErr := modelpack.Locate(c.models)
	ortVersion := "not loaded"
	if locErr == nil {
		if err := onnx.Init(paths.Runtime); err != nil {
			ortVersion = "failed to load: " + err.Error()
		} else {
			ortVersion = onnx.Version()
		}
	}
	fmt.Fprintf(out, "onnx runtime %s (pinned %s, sha256 %s)\n", ortVersion, pack.Runtime.Package, pack.Runtime.SHA256)
	if paths.Runtime != "" {
		fmt.Fprintf(out, "  library %s\n", paths.Runtime)
	}
	fmt.Fprintf(out, "model pack %s@%s (%s licence)\n", pack.Name, pack.Version, pack.License)
	if paths.Models != "" {
		fmt.Fprintf(out, "  folder %s\n", paths.Models)
	}
	for _, m := range pack.Models {
		state := "missing"
		if paths.Models != "" {
			if err := modelpack.Verify(filepath.Join(paths.Models, m.File), m.SHA256); err == nil {
				state = "ok"
			} else if fileExists(filepath.Join(paths.Models, m.File)) {
				state = "CHECKSUM MISMATCH"
			}
		}
		kind := "attribute"
		if m.Core {
			kind = "core"
		}
		fmt.Fprintf(out, "  %-20s %-9s sha256 %s  %s\n", m.File, kind, m.SHA256, state)
	}
	fmt.Fprintf(out, "default threshold %.4f (FMR %g; %s)\n", pack.Threshold.Value, pack.Threshold.FMR, pack.Threshold.Calibration)
	if locErr != nil {
		fmt.Fprintf(out, "search path:\n")
		for _, d := range modelpack.SearchDirs() {
			fmt.Fprintf(out, "  %s\n", d)
		}
		return locErr
	}
	return nil
}
