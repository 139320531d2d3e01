package cli

import (
	"flag"
	"fmt"

	"github.com/facegate/facegate/engine"
)

// profileUsage is the help of the --profile flag of detect and watch.
var profileUsage = fmt.Sprintf("detection profile: default (faces of %d px and up) or crowd (down to %d px, up to %d faces, at most %d detector windows; several times slower, docs/performance.md)",
	engine.DefaultMinFace, engine.CrowdMinFace, engine.CrowdMaxFaces, engine.CrowdMaxDetectorRuns)

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}
