package server

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
)

// FuzzReadInput feeds arbitrary content types and bodies to the request decoder: it must never panic, and every
// failure must be a client error (4xx) with a code.
func FuzzReadInput(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"image/jpeg", "\xff\xd8\xff\xe0"},
		{"application/json", `{"image": "aGVsbG8=", "top_k": 3}`},
		{"application/json", `{"images": ["aGVsbG8=", "data:image/png;base64,aGVsbG8="]}`},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\nabc\r\n--X\r\nContent-Disposition: form-data; name=\"top_k\"\r\n\r\n5\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nbroken"},
		{"text/plain", "hello"},
		{"", ""},
		{"application/json", `{"image": 5}`},
		{"application/json", `[1,2]`},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body), false)
		f.Add(s.ct, []byte(s.body), true)
	}
	s := &Server{cfg: Config{MaxBodyBytes: 1 << 16}}
	f.Fuzz(func(t *testing.T, ct string, body []byte, list bool) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		var in *input
		var err error
		if list {
			in, err = s.readImages(w, r)
		} else {
			in, err = s.readInput(w, r, "image")
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 || ae.Code == "" {
				t.Fatalf("error %v is not a client error with a code", err)
			}
			return
		}
		if !list && in.images["image"] == nil {
			t.Fatalf("success without the image")
		}
		for k := range in.fields {
			var v any
			_ = in.field(k, &v) // must not panic
		}
	})
}
