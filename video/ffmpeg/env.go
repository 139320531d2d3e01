package ffmpeg

import "strings"

// childEnvKeep are the only environment variables ffmpeg is started with: what it needs to run (PATH, the
// dynamic linker's LD_LIBRARY_PATH, HOME and TMPDIR for its files, the locale and time zone). Nothing else of
// the server's environment is passed on: no FACEGATE_* variable, no API key, template key or other secret, and
// no proxy or library-loading setting an attacker could have wanted ffmpeg to honour.
var childEnvKeep = []string{"PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ", "LD_LIBRARY_PATH"}

// childEnv returns the environment of an ffmpeg process built from environ (os.Environ's form, KEY=value):
// the childEnvKeep variables that are set, in that order.
func childEnv(environ []string) []string {
	out := make([]string, 0, len(childEnvKeep))
	for _, k := range childEnvKeep {
		for _, kv := range environ {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				out = append(out, k+"="+v)
				break
			}
		}
	}
	return out
}
