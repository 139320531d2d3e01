package ffmpeg

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/facegate/facegate"
)

// allowedFile checks that p names a readable regular file inside one of dirs (symbolic links resolved) and
// returns it for ffmpeg as "file:/real/path". Every failure gives the same sentence, whatever the reason
// (missing, unreadable, a directory, outside the folders, no folder configured): an API client learns nothing
// about the server's files. The reason is in the wrapped error, for the log.
func allowedFile(src, p string, dirs []string) (sourceKind, string, error) {
	refuse := func(err error) (sourceKind, string, error) {
		return 0, "", fmt.Errorf("ffmpeg: source file %q: %w", src, facegate.Userf(err,
			"the file %s cannot be used as a source: give a readable video file inside the folders this server reads video files from (serve --stream-dirs)", src))
	}
	if len(dirs) == 0 {
		return refuse(fmt.Errorf("no folder allows file sources"))
	}
	if p == "" {
		return refuse(fmt.Errorf("empty path"))
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return refuse(err)
	}
	// The name itself first: a path outside every folder is refused before the file system is touched.
	if !insideAny(abs, dirs, false) && !insideAny(abs, dirs, true) {
		return refuse(fmt.Errorf("%s is outside the allowed folders", abs))
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return refuse(err)
	}
	if !insideAny(real, dirs, true) {
		return refuse(fmt.Errorf("%s leads to %s, outside the allowed folders", abs, real))
	}
	f, err := os.Open(real)
	if err != nil {
		return refuse(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return refuse(err)
	}
	if !fi.Mode().IsRegular() {
		return refuse(fmt.Errorf("%s is not a regular file", real))
	}
	return kindFile, "file:" + real, nil
}

// insideAny reports whether path lies strictly inside one of dirs (made absolute, and with their symbolic
// links resolved when resolve is set).
func insideAny(path string, dirs []string, resolve bool) bool {
	for _, d := range dirs {
		d, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if resolve {
			if d, err = filepath.EvalSymlinks(d); err != nil {
				continue
			}
		}
		rel, err := filepath.Rel(d, path)
		if err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel) {
			return true
		}
	}
	return false
}
