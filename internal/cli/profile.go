package cli

import (
	"flag"
	"fmt"

	"github.com/facegate/facegate/engine"
)

// profileUsage is the help of the --profile flag of detect and watch.
var profileUsage = fmt.Sprintf("detection profile: default (faces of %d px and up) or crowd (down to %d px, up to %d faces, at most %d detector windows; about 3 times slower per image, docs/performance.md)",
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

// parseProfile parses a --profile value. For a profile other than the default, every engine flag of flags (by
// name: "min-face", "max-faces", "max-detector-runs") that the command line did not give takes the profile's own
// default, so that '--profile crowd' alone searches crowd-sized faces.
func parseProfile(fs *flag.FlagSet, value string, flags map[string]*int) (engine.Profile, error) {
	profile, err := engine.ParseProfile(value)
	if err != nil {
		return profile, usagef("--profile must be default or crowd")
	}
	if profile == engine.ProfileDefault {
		return profile, nil
	}
	d := profile.Defaults()
	own := map[string]int{"min-face": d.MinFaceSize, "max-faces": d.MaxFaces, "max-detector-runs": d.MaxDetectorRuns}
	for name, v := range flags {
		if !flagGiven(fs, name) {
			*v = own[name]
		}
	}
	return profile, nil
}
