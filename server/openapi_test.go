package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPIComplete checks that every route is documented and every schema reference resolves.
func TestOpenAPIComplete(t *testing.T) {
	s := &Server{}
	for _, rt := range s.routeTable() {
		if _, ok := routeDocs[rt.pattern]; !ok {
			t.Errorf("route %s has no routeDocs entry", rt.pattern)
		}
	}
	if len(routeDocs) != len(s.routeTable()) {
		t.Errorf("routeDocs has %d entries for %d routes", len(routeDocs), len(s.routeTable()))
	}
	b, err := json.Marshal(s.openapiDoc())
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, part := range strings.Split(text, `"$ref":"#/components/schemas/`)[1:] {
		name, _, _ := strings.Cut(part, `"`)
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("$ref to missing schema %s", name)
		}
	}
	for name, props := range map[string][]string{
		"SearchResponse": {"faces", "threshold", "width"},
		"SearchFace":     {"result", "candidates", "box", "quality"},
		"FaceRecord":     {"id", "box", "source_sha256"},
		"Error":          {"code", "message", "details"},
	} {
		for _, p := range props {
			if _, ok := doc.Components.Schemas[name].Properties[p]; !ok {
				t.Errorf("schema %s lacks %s", name, p)
			}
		}
	}
	// Templates appear in one place only: the data-subject export, which must return everything stored about
	// the person. No other schema may carry a template or a key hash.
	for name, schema := range doc.Components.Schemas {
		if _, ok := schema.Properties["template"]; ok && name != "ExportFace" {
			t.Errorf("schema %s exposes a template", name)
		}
	}
	if _, ok := doc.Components.Schemas["ExportFace"].Properties["template"]; !ok {
		t.Error("the subject export lacks the template")
	}
	if strings.Contains(text, `"Hash"`) {
		t.Errorf("the document exposes key hashes")
	}
}
