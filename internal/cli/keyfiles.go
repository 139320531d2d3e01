package cli

import (
	"os"
	"path/filepath"
	"strings"
)

// checkOutsideData refuses a key file (named by flag, for the message) that lies inside the data directory:
// whoever can read or write the data directory (a backup, a copied volume, an attacker who can rewrite the
// database) must not get the key that protects it too. Both paths are compared as given (made absolute) and
// with their symlinks resolved, and the file counts as inside when any form of it lies under any form of the
// data directory: a symlink in the data directory that points out is still refused (whoever can write the data
// directory can repoint it), and neither a symlinked data directory nor a symlinked way into it hides a file
// that is really inside.
func checkOutsideData(flag, path, data, why string) error {
	if path == "" || data == "" {
		return nil
	}
	dirs := pathForms(data)
	for _, p := range pathForms(path) {
		for _, d := range dirs {
			if p == d || strings.HasPrefix(p, d+string(filepath.Separator)) {
				return usagef("%s must not be inside the data directory %s (%s): keep it in a directory of its own, such as /etc/facegate", flag, data, why)
			}
		}
	}
	return nil
}

// pathForms is p made absolute and cleaned, and p with every symlink resolved (for a path that does not exist
// yet, its deepest existing ancestor resolved, the rest appended).
func pathForms(p string) []string {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = filepath.Clean(p)
	}
	forms := []string{abs}
	rest := ""
	for dir := abs; ; dir = filepath.Dir(dir) {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			forms = append(forms, filepath.Join(real, rest))
			break
		} else if !os.IsNotExist(err) || dir == filepath.Dir(dir) {
			break
		}
		rest = filepath.Join(filepath.Base(dir), rest)
	}
	return forms
}
