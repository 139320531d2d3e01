package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/audit"
)

// routeDoc is what the OpenAPI document says about a route beyond its path and role: the success status and
// body, the JSON request body, and query parameters.
type routeDoc struct {
	status int
	resp   any // a value of the response type; nil: no body
	req    any // a value of the JSON request type; nil: none or an image body
	query  map[string]string
}

var routeDocs = map[string]routeDoc{
	"GET /healthz":                                           {200, api.Status{}, nil, nil},
	"GET /readyz":                                            {200, api.Status{}, nil, nil},
	"GET /metrics":                                           {200, nil, nil, nil},
	"GET /openapi.json":                                      {200, nil, nil, nil},
	"GET /v1/me":                                             {200, api.Me{}, nil, nil},
	"GET /v1/settings":                                       {200, api.Settings{}, nil, nil},
	"PUT /v1/settings":                                       {200, api.Settings{}, api.Settings{}, nil},
	"POST /v1/detect":                                        {200, api.DetectResponse{}, nil, map[string]string{"attributes": "comma-separated: age, gender, expression, liveness, all"}},
	"POST /v1/compare":                                       {200, api.CompareResponse{}, nil, nil},
	"POST /v1/galleries":                                     {201, facegate.Gallery{}, api.GalleryRequest{}, nil},
	"GET /v1/galleries":                                      {200, api.GalleryList{}, nil, nil},
	"GET /v1/galleries/{g}":                                  {200, api.GalleryInfo{}, nil, nil},
	"PATCH /v1/galleries/{g}":                                {200, facegate.Gallery{}, api.GalleryRequest{}, nil},
	"DELETE /v1/galleries/{g}":                               {204, nil, nil, nil},
	"POST /v1/galleries/{g}/subjects":                        {201, api.SubjectCreated{}, api.SubjectRequest{}, nil},
	"GET /v1/galleries/{g}/subjects":                         {200, api.SubjectList{}, nil, map[string]string{"limit": "page size, 1..1000 (default 100)", "after": "the previous page's next cursor", "external_id": "find the subject with this external id", "q": "subjects whose display name contains this (ignoring case) or whose external id equals it"}},
	"GET /v1/galleries/{g}/subjects/{s}":                     {200, api.SubjectInfo{}, nil, nil},
	"PATCH /v1/galleries/{g}/subjects/{s}":                   {200, facegate.Subject{}, api.SubjectRequest{}, nil},
	"DELETE /v1/galleries/{g}/subjects/{s}":                  {204, nil, nil, nil},
	"POST /v1/galleries/{g}/datasets":                        {200, nil, api.DatasetRequest{}, nil},
	"GET /v1/galleries/{g}/subjects/{s}/export":              {200, nil, nil, nil},
	"POST /v1/galleries/{g}/subjects/{s}/consents":           {201, facegate.Consent{}, api.ConsentRequest{}, nil},
	"GET /v1/galleries/{g}/subjects/{s}/consents":            {200, api.ConsentList{}, nil, nil},
	"DELETE /v1/galleries/{g}/subjects/{s}/consents/{c}":     {200, api.ConsentWithdrawn{}, nil, nil},
	"POST /v1/galleries/{g}/subjects/{s}/faces":              {201, api.Enrolled{}, nil, nil},
	"GET /v1/galleries/{g}/subjects/{s}/faces":               {200, api.FaceList{}, nil, nil},
	"GET /v1/galleries/{g}/subjects/{s}/faces/{f}/thumbnail": {200, nil, nil, nil},
	"DELETE /v1/galleries/{g}/subjects/{s}/faces/{f}":        {204, nil, nil, nil},
	"POST /v1/galleries/{g}/search":                          {200, api.SearchResponse{}, nil, map[string]string{"top_k": "candidates per face, 1..100 (default 5)"}},
	"POST /v1/galleries/{g}/subjects/{s}/verify":             {200, api.VerifyResponse{}, nil, nil},
	"POST /v1/keys":                                          {201, api.KeyCreated{}, api.KeyRequest{}, nil},
	"GET /v1/keys":                                           {200, api.KeyList{}, nil, nil},
	"DELETE /v1/keys/{id}":                                   {204, nil, nil, nil},
	"GET /v1/audit":                                          {200, api.AuditList{}, nil, map[string]string{"actor": "API key id", "action": "a route such as 'POST /v1/galleries/{g}/search'", "target": "path prefix, e.g. galleries/staff", "from": "RFC 3339", "to": "RFC 3339", "after": "sequence number", "limit": "1..10000 (default 1000)", "format": "jsonl: export every matching entry as JSON lines"}},
	"GET /v1/audit/verify":                                   {200, audit.Report{}, nil, nil},
	"GET /v1/audit/checkpoints":                              {200, api.AuditCheckpoints{}, nil, nil},
	"GET /v1/alerts": {200, api.AlertList{}, nil, map[string]string{"status": "pending, confirmed or rejected", "gallery": "gallery id or name",
		"stream": "stream id", "subject": "subject id", "limit": "1..1000 (default 100)"}},
	"GET /v1/alerts/media":                                  {200, api.AlertMediaResponse{}, nil, map[string]string{"ids": "up to 100 alert ids, separated by commas"}},
	"GET /v1/alerts/{id}":                                   {200, api.AlertView{}, nil, nil},
	"POST /v1/alerts/{id}/review":                           {200, api.AlertView{}, api.ReviewRequest{}, nil},
	"POST /v1/alerts/review":                                {200, api.BulkReviewResponse{}, api.BulkReviewRequest{}, nil},
	"GET /v1/galleries/{g}/subjects/{s}/rejections":         {200, api.RejectionList{}, nil, nil},
	"DELETE /v1/galleries/{g}/subjects/{s}/rejections/{id}": {204, nil, nil, nil},
	"GET /v1/watchlist/overdue":                             {200, api.OverdueList{}, nil, map[string]string{"gallery": "gallery id or name (default: every watchlist)"}},
	"POST /v1/watchlist/overdue/expire":                     {200, api.ExpireOverdueResponse{}, nil, map[string]string{"gallery": "gallery id or name (default: every watchlist)"}},
	"POST /v1/streams":                                      {201, api.StreamInfo{}, api.StreamRequest{}, nil},
	"GET /v1/streams":                                       {200, api.StreamList{}, nil, nil},
	"GET /v1/streams/{id}":                                  {200, api.StreamInfo{}, nil, nil},
	"PUT /v1/streams/{id}":                                  {200, api.StreamInfo{}, api.StreamRequest{}, nil},
	"DELETE /v1/streams/{id}":                               {204, nil, nil, nil},
	"GET /v1/streams/{id}/preview":                          {200, nil, nil, nil},
	"GET /v1/streams/{id}/heatmap":                          {200, api.StreamHeatmap{}, nil, map[string]string{"from": "RFC 3339: sum the stored crowd intervals that end after it", "to": "RFC 3339: sum the stored crowd intervals that start before it", "format": "json (default) or png (a colour ramp, 20 pixels a cell)"}},
	"GET /v1/streams/{id}/crowd":                            {200, api.StreamCrowds{}, nil, map[string]string{"from": "RFC 3339: list the stored crowd intervals that end after it", "to": "RFC 3339: list the stored crowd intervals that start before it", "limit": "1..1000 (default 100), oldest first; more=true when some were left out"}},
	"GET /v1/events":                                        {200, nil, nil, eventQuery},
	"GET /v1/events/recent":                                 {200, api.EventList{}, nil, map[string]string{"stream": eventQuery["stream"], "type": eventQuery["type"], "limit": "most events returned, 1..1000 (default 100)"}},
	"GET /v1/events/{id}/crop":                              {200, nil, nil, nil},
}

// eventQuery filters the event routes.
var eventQuery = map[string]string{
	"stream":        "comma-separated stream ids (default: all)",
	"type":          "comma-separated event types: track_started, track_ended, match, unknown_face, stream_status, crowd (default: all)",
	"last_event_id": "resume after this event id (or the Last-Event-ID header)",
}

// schemas turns Go types into OpenAPI schemas by their JSON encoding, collecting named structs as components.
type schemas map[string]any

var timeType = reflect.TypeOf(time.Time{})

func (sc schemas) of(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == reflect.TypeOf(json.RawMessage{}):
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": sc.of(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": sc.of(t.Elem())}
	case reflect.Struct:
		name := t.Name()
		if _, ok := sc[name]; !ok {
			sc[name] = map[string]any{} // placeholder against recursion
			props := map[string]any{}
			sc.fields(t, props)
			sc[name] = map[string]any{"type": "object", "properties": props}
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

// fields adds t's JSON fields to props, flattening embedded structs as encoding/json does.
func (sc schemas) fields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" {
			sc.fields(f.Type, props)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = sc.of(f.Type)
	}
}

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
			"schema": map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{"$ref": "#/components/schemas/Error"}}}}}}
	}
	paths := map[string]any{}
	sc := schemas{}
	sc.of(reflect.TypeOf(api.Error{}))
	for _, rt := range s.routeTable() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		doc := routeDocs[rt.pattern]
		ok := map[string]any{"description": "success"}
		if doc.resp != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sc.of(reflect.TypeOf(doc.resp))}}
		}
		if doc.status == 0 {
			doc.status = 200
		}
		op := map[string]any{
			"operationId": opID(method, path),
			"responses": map[string]any{
				strconv.Itoa(doc.status): ok, "503": errResp("no analysis slot within the request timeout"),
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
		for _, q := range sortedKeys(doc.query) {
			params = append(params, map[string]any{"name": q, "in": "query", "description": doc.query[q], "schema": map[string]any{"type": "string"}})
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
		case method == "POST" && strings.HasSuffix(path, "/subjects"):
			// A subject alone as JSON, or with its first faces: multipart image parts, or "images" in JSON.
			op["requestBody"] = map[string]any{"content": map[string]any{
				"application/json": map[string]any{"schema": map[string]any{"allOf": []any{sc.of(reflect.TypeOf(doc.req)),
					map[string]any{"type": "object", "properties": map[string]any{
						"images": map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "byte"}}}}}}},
				"multipart/form-data": map[string]any{"schema": map[string]any{"type": "object", "properties": map[string]any{
					"image":        map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "binary"}},
					"external_id":  map[string]any{"type": "string"},
					"display_name": map[string]any{"type": "string"},
					"metadata":     map[string]any{"type": "string", "description": "a JSON object of strings"}}}},
			}}
		case path == "/v1/events":
			ok["description"] = "Server-Sent Events: one message per event, 'id:' its id, 'event:' its type, 'data:' the Event JSON"
			ok["content"] = map[string]any{"text/event-stream": map[string]any{"schema": sc.of(reflect.TypeOf(facegate.Event{}))}}
		case strings.HasSuffix(path, "/datasets"):
			ok["description"] = "a ZIP: manifest.json (DatasetManifest: consent manifest and annotations) and faces/<pseudonym>/NN.jpg aligned faces, each carrying the export id; headers X-Facegate-Export-Id and X-Facegate-Export-Fingerprint"
			ok["content"] = map[string]any{"application/zip": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
			sc.of(reflect.TypeOf(api.DatasetManifest{}))
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": sc.of(reflect.TypeOf(api.DatasetRequest{}))}}}
		case strings.HasSuffix(path, "/export"):
			ok["description"] = "a ZIP: subject.json (SubjectExport: the subject, its gallery's purpose, consents, faces with templates, kept match crops, events in memory) and the images (faces/*.jpg, crops/*.jpg)"
			ok["content"] = map[string]any{"application/zip": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}
			sc.of(reflect.TypeOf(api.SubjectExport{}))
		case strings.HasSuffix(path, "/preview"):
			ok["description"] = "MJPEG: multipart/x-mixed-replace of annotated JPEG frames, while the client reads"
		case doc.req != nil:
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": sc.of(reflect.TypeOf(doc.req))}}}
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
		"info":    map[string]any{"title": "facegate", "version": facegate.Version, "description": "Self-hosted face recognition: detection, galleries with consent, 1:N search and 1:1 verification, video streams and events, watchlist review, audit log. Errors are {\"error\": {\"code\", \"message\", \"details\"}}."},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer"},
				"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "X-API-Key"},
			},
			"schemas": map[string]any(sc),
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
