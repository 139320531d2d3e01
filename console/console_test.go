package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAssets(t *testing.T) {
	h := Handler()
	for _, c := range []struct{ path, ctype, contains string }{
		{"/app.js", "text/javascript; charset=utf-8", "function render("},
		{"/app.css", "text/css; charset=utf-8", ":focus-visible"},
		{"/index.html", "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
		{"/", "text/html; charset=utf-8", `<script type="module" src="/app.js">`},
	} {
		w := get(t, h, "GET", c.path)
		if w.Code != 200 {
			t.Fatalf("%s: status %d", c.path, w.Code)
		}
		if got := w.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if !strings.Contains(w.Body.String(), c.contains) {
			t.Errorf("%s: body lacks %q", c.path, c.contains)
		}
		if got := w.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q", c.path, got)
		}
		if w.Header().Get("ETag") == "" {
			t.Errorf("%s: no ETag", c.path)
		}
		if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", c.path, got)
		}
	}
}

func TestRevalidation(t *testing.T) {
	h := Handler()
	etag := get(t, h, "GET", "/app.js").Header().Get("ETag")
	if w := get(t, h, "GET", "/app.js", "If-None-Match", etag); w.Code != http.StatusNotModified {
		t.Fatalf("If-None-Match with the current ETag: status %d, want 304", w.Code)
	}
	if w := get(t, h, "HEAD", "/app.css"); w.Code != 200 || w.Body.Len() != 0 {
		t.Fatalf("HEAD: status %d, %d body bytes", w.Code, w.Body.Len())
	}
}

func TestSPAFallback(t *testing.T) {
	h := Handler()
	index := get(t, h, "GET", "/").Body.String()
	for _, p := range []string{"/signin", "/galleries", "/galleries/g_123/subjects/s_456", "/galleries/x/search?y=1", "/a/../galleries",
		"/streams", "/streams/str_1", "/streams/str_1/edit", "/alerts", "/audit?actor=system&after=5"} {
		w := get(t, h, "GET", p)
		if w.Code != 200 || w.Body.String() != index {
			t.Errorf("%s: status %d, index.html served: %v", p, w.Code, w.Body.String() == index)
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
	}
	// Paths that look like files but are not assets are 404, not the page (a missing script must not
	// come back as HTML).
	for _, p := range []string{"/favicon.ico", "/missing.js", "/assets/app.js", "/galleries/x.png"} {
		if w := get(t, h, "GET", p); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, w.Code)
		}
	}
}

func TestCSP(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/app.js", "/galleries", "/nope.txt"} {
		csp := get(t, h, "GET", p).Header().Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "img-src 'self' blob: data:", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline or eval: %q", p, csp)
		}
	}
	// No inline script or style in the page: the CSP would block it.
	index := get(t, h, "GET", "/").Body.String()
	if strings.Contains(index, "<script>") || strings.Contains(index, "style=") || strings.Contains(index, "<style") {
		t.Error("index.html has inline script or style")
	}
}

func TestNoDirectoryListing(t *testing.T) {
	h := Handler()
	index := get(t, h, "GET", "/").Body.String()
	for _, p := range []string{"/assets/", "/assets", "/./", "//", "/e2e/"} {
		w := get(t, h, "GET", p)
		if strings.Contains(w.Body.String(), "<pre>") || strings.Contains(w.Body.String(), `href="app.js"`) {
			t.Errorf("%s: looks like a directory listing: %q", p, w.Body.String())
		}
		if w.Code == 200 && w.Body.String() != index {
			t.Errorf("%s: 200 with something other than index.html", p)
		}
	}
}

func TestMethods(t *testing.T) {
	if w := get(t, Handler(), "POST", "/"); w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d, want 405", w.Code)
	}
}
