package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/facegate/facegate"
)

// FuzzJSONDepth: the depth scanner sees every body before the JSON decoder does, so it must never refuse valid
// JSON within the limit nor pass JSON beyond it, whatever strings, escapes and brackets the text holds. The
// decoder's own tokens give the true depth.
func FuzzJSONDepth(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"]}\\\"["}]}`, strings.Repeat("[", 33) + strings.Repeat("]", 33),
		strings.Repeat("[", 32) + strings.Repeat("]", 32), `"[[[["`, `{"x":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			_ = checkDepth(data) // no panic is all that is asked of invalid text
			return
		}
		depth, deepest := 0, 0
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("valid JSON %q: %v", data, err)
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
				deepest = max(deepest, depth)
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
		}
		if refused := checkDepth(data) != nil; refused != (deepest > facegate.MaxJSONDepth) {
			t.Fatalf("depth %d, limit %d: refused %v", deepest, facegate.MaxJSONDepth, refused)
		}
	})
}
