// Package console is facegate's web console: a few static pages, embedded in the binary, that call the /v1 API
// with the API key the user signs in with. server.Config.Console takes Handler(); the server hands it every
// GET and HEAD outside /v1. See docs/console.md.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// CSP is the Content-Security-Policy of every console response: scripts, styles and connections to this origin
// only (no inline script or style), images also from blob: and data: URLs (thumbnails fetched with the key).
const CSP = "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Handler serves the console: the embedded assets by name, and index.html for every other path without a file
// extension (the pages' own routes, such as /galleries/ID), so a reload or a shared link opens the right page.
// Paths with an extension that is not an asset are 404; directories are never listed.
func Handler() http.Handler {
	files := map[string]*asset{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) { // not left to the system's mime tables
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = "text/html; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(b)
		files["/"+strings.TrimPrefix(p, "assets/")] = &asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: embedded assets: " + err.Error()) // cannot happen: the files are compiled in
	}
	index := files["/index.html"]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := path.Clean("/" + r.URL.Path)
		a := files[p]
		if a == nil || p == "/index.html" {
			if path.Ext(p) != "" && p != "/index.html" {
				http.Error(w, "not found", http.StatusNotFound)
				return
			}
			a = index
		}
		// No build step means no content-hashed names: every response is revalidated, cheaply, by its ETag.
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Type", a.ctype)
		h.Set("ETag", a.etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}
