package server_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/facegate/facegate/server"
)

// pngHeaderOnly is a PNG signature and an IHDR chunk claiming w x h pixels, with no image data.
func pngHeaderOnly(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// internalText is what no error message may show a client: package prefixes of error chains, decoder and
// formatting debris.
var internalText = []string{"sqlite:", "imgio:", "engine:", "video:", "ffmpeg", "recognize:", "events:", "json:", "multipart:",
	"stat ", "no such file or directory", "%!"}

// prefixRE finds the "word: " prefixes of a message, to catch one that appears twice ("x: …: x: …").
var prefixRE = regexp.MustCompile(`(?:^|: )([a-z_]+): `)

// TestErrorsInPlainWords walks the bad-input cases: each answer has a code and one sentence, without internal
// error chains, and the server log has the chain under the request's id.
func TestErrorsInPlainWords(t *testing.T) {
	var logs syncBuffer
	e := newEnv(t, server.Config{MaxBodyBytes: 1 << 20, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if st := e.json("POST", "/v1/galleries", e.admin, map[string]string{"name": "staff"}, nil); st != 201 {
		t.Fatalf("gallery: %d", st)
	}
	if st := e.json("POST", "/v1/galleries", e.admin, map[string]any{"name": "wanted", "purpose": "watchlist", "legal_basis": "court order 12/2025"}, nil); st != 201 {
		t.Fatalf("watchlist gallery: %d", st)
	}
	truncated := truncatedJPEG(t)
	type req struct {
		method, path, ctype string
		body                []byte
	}
	jsonReq := func(method, path string, v any) req {
		b, _ := json.Marshal(v)
		return req{method, path, "application/json", b}
	}
	tests := []struct {
		name   string
		req    req
		status int
		code   string
		msg    string // the whole message, when it is worth pinning
		logged string // part of the internal chain the log line of the request must have, when there is one
	}{
		{"non-image", req{"POST", "/v1/detect", "image/jpeg", []byte("this is not an image\n")}, 415, "unsupported_media_type",
			"not an image: send a JPEG, PNG, GIF, WebP, BMP or PNM file", "imgio: unrecognised content"},
		{"truncated", req{"POST", "/v1/detect", "image/jpeg", truncated}, 400, "truncated_image",
			"the JPEG image is truncated: send the whole file", "imgio: decoding jpeg"},
		{"empty", req{"POST", "/v1/detect", "image/jpeg", nil}, 400, "empty_image", "", ""},
		{"huge", req{"POST", "/v1/detect", "image/png", pngHeaderOnly(50000, 50000)}, 413, "too_large",
			"the image is 50000x50000 pixels; the limit is 40 megapixels", "imgio: image 50000x50000"},
		{"corrupt", req{"POST", "/v1/detect", "image/png", []byte("\x89PNG\r\n\x1a\nbut not really a PNG")}, 400, "", "", ""},
		{"unknown gallery", req{"GET", "/v1/galleries/nope", "", nil}, 404, "not_found", `gallery "nope" not found`, ""},
		{"unknown gallery search", req{"POST", "/v1/galleries/nope/search", "image/jpeg", truncated}, 404, "not_found", `gallery "nope" not found`, ""},
		{"unknown subject", req{"GET", "/v1/galleries/staff/subjects/sub_nope", "", nil}, 404, "not_found",
			`subject "sub_nope" not found`, `sqlite: subject \"sub_nope\" not found`}, // the log's text handler escapes quotes
		{"unknown face", req{"DELETE", "/v1/galleries/staff/subjects/sub_nope/faces/face_nope", "", nil}, 404, "not_found", "", ""},
		{"unknown key", req{"DELETE", "/v1/keys/key_nope", "", nil}, 404, "not_found", "", ""},
		{"invalid watchlist entry", jsonReq("POST", "/v1/galleries/wanted/subjects", map[string]any{"external_id": "w1"}), 400, "bad_request",
			"a watchlist entry needs a reason and a review date (watch.reason and watch.review_at)", "sqlite: create subject"},
		{"conflict", jsonReq("POST", "/v1/galleries", map[string]string{"name": "staff"}), 409, "conflict",
			`a gallery named "staff" exists`, "sqlite: create gallery"},
		{"missing stream file", jsonReq("POST", "/v1/streams", map[string]string{"name": "door", "source": "/nonexistent/clip.mp4"}), 400, "bad_source",
			"the file /nonexistent/clip.mp4 cannot be used as a source: give a readable video file inside the folders this server reads video files from (serve --stream-dirs)", "no folder allows file sources"},
		{"stream scheme", jsonReq("POST", "/v1/streams", map[string]string{"name": "door", "source": "ftp://cam/1"}), 400, "bad_source", "", ""},
		{"stream folder", jsonReq("POST", "/v1/streams", map[string]string{"name": "door", "source": "/"}), 400, "bad_source",
			"the file / cannot be used as a source: give a readable video file inside the folders this server reads video files from (serve --stream-dirs)", ""},
		{"unknown field", jsonReq("POST", "/v1/galleries", map[string]any{"name": "x", "sauce": 1}), 400, "bad_request", "", ""},
		{"wrong type", jsonReq("POST", "/v1/galleries", map[string]any{"name": 5}), 400, "bad_request", `field "name" must be a string, not number`, ""},
		{"fraction for a whole number", jsonReq("POST", "/v1/galleries", map[string]any{"name": "r", "retention_days": 0.5}), 400, "bad_request",
			`field "retention_days" must be a whole number in range, not number 0.5`, ""},
		{"malformed JSON", req{"POST", "/v1/galleries", "application/json", []byte(`{"name": `)}, 400, "bad_request", "", ""},
		{"bad event filter", req{"GET", "/v1/events/recent?type=nonsense", "", nil}, 400, "bad_request", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := http.NewRequest(tc.req.method, e.url+tc.req.path, bytes.NewReader(tc.req.body))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+e.admin)
			if tc.req.ctype != "" {
				r.Header.Set("Content-Type", tc.req.ctype)
			}
			resp, err := http.DefaultClient.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var ae apiErr
			if err := json.Unmarshal(body, &ae); err != nil {
				t.Fatalf("%d %q: %v", resp.StatusCode, body, err)
			}
			msg := ae.Error.Message
			if resp.StatusCode != tc.status || ae.Error.Code == "" || (tc.code != "" && ae.Error.Code != tc.code) || msg == "" {
				t.Errorf("%d %q %q, want %d %q and a message", resp.StatusCode, ae.Error.Code, msg, tc.status, tc.code)
			}
			if tc.msg != "" && msg != tc.msg {
				t.Errorf("message %q, want %q", msg, tc.msg)
			}
			for _, bad := range internalText {
				if strings.Contains(msg, bad) {
					t.Errorf("message %q contains %q", msg, bad)
				}
			}
			seen := map[string]bool{}
			for _, m := range prefixRE.FindAllStringSubmatch(msg, -1) {
				if seen[m[1]] {
					t.Errorf("message %q repeats the prefix %q", msg, m[1])
				}
				seen[m[1]] = true
			}
			id := resp.Header.Get("X-Request-Id")
			if tc.logged != "" && !logLineWith(logs.String(), "id="+id+" ", tc.logged) {
				t.Errorf("no log line with id=%s and %q:\n%s", id, tc.logged, logs.String())
			}
		})
	}
}

// logLineWith reports whether one line of logs holds all the parts.
func logLineWith(logs string, parts ...string) bool {
	for line := range strings.SplitSeq(logs, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}
