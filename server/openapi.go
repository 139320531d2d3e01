package server

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/facegate/facegate"
)

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

// openapiDoc builds the OpenAPI 3 description from the route table, so it cannot drift from the routes.
func (s *Server) openapiDoc() map[string]any {
	imageBody := map[string]any{
		"required": true,
		"content": map[string]any{
			"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{
				"image": map[string]any{"type": "string", "format": "binary"}}}},
			"application/json": map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{
				"image": map[string]any{"type": "string", "format": "byte", "description": "base64 image, optionally a data: URL"}}}},
			"image/*": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}},
		},
	}
	pairBody := map[string]any{
		"required": true,
		"content": map[string]any{
			"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{
				"a": map[string]any{"type": "string", "format": "binary"}, "b": map[string]any{"type": "string", "format": "binary"}}}},
			"application/json": map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{
				"a": map[string]any{"type": "string", "format": "byte"}, "b": map[string]any{"type": "string", "format": "byte"},
				"threshold": map[string]any{"type": "number"}}}},
		},
	}
	jsonBody := map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	paths := map[string]any{}
	for _, rt := range s.routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		op := map[string]any{
			"operationId": opID(method, path),
			"responses": map[string]any{
				"200": map[string]any{"description": "success"},
				"400": errResp("bad request or bad image"), "401": errResp("missing or unknown API key"),
				"403": errResp("the key's role may not use this route"), "404": errResp("unknown gallery, subject or face"),
				"409": errResp("conflict"), "413": errResp("too large"), "415": errResp("unsupported media type"),
				"422": errResp("no face, several faces or quality rejected"), "429": errResp("rate limited (see Retry-After)"),
			},
		}
		if rt.role == "" {
			op["security"] = []any{}
		} else {
			op["description"] = "Needs a key with role " + string(rt.role) + " or above."
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case strings.HasSuffix(path, "/compare"):
			op["requestBody"] = pairBody
		case strings.HasSuffix(path, "/detect"), strings.HasSuffix(path, "/search"), strings.HasSuffix(path, "/verify"),
			method == "POST" && strings.HasSuffix(path, "/faces"):
			op["requestBody"] = imageBody
		case method == "POST" || method == "PATCH":
			op["requestBody"] = jsonBody
		}
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		item[strings.ToLower(method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "facegate", "version": facegate.Version, "description": "Self-hosted face recognition: detection, galleries, 1:N search and 1:1 verification. Errors are {\"error\": {\"code\", \"message\", \"details\"}}."},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "properties": map[string]any{
					"error": map[string]any{"type": "object", "properties": map[string]any{
						"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "details": map[string]any{}}}}},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"apiKey": []any{}}},
	}
}

func opID(method, path string) string {
	p := pathParam.ReplaceAllString(path, "by_$1")
	p = strings.NewReplacer("/v1/", "", "/", "_", ".", "_").Replace(p)
	return strings.ToLower(method) + "_" + strings.Trim(p, "_")
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.openapiDoc())
	return nil
}
