package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"

	"github.com/facegate/facegate/internal/imgio"
)

// input is a request body in any of the accepted forms: multipart/form-data (image parts plus form fields), a
// raw body with an image content type (one image, named "image"), or JSON whose string fields named like images
// hold base64 (standard or URL alphabet, an optional data: URL prefix) and whose other fields are options.
type input struct {
	images map[string][]byte
	fields map[string]json.RawMessage
	// list holds every image of a request that takes a list (readImages): multipart file parts and parts named
	// "image", in order, or the JSON array "images" (and a lone "image").
	list [][]byte
}

// field decodes an option field into v; absent fields leave v unchanged.
func (in *input) field(name string, v any) error {
	raw, ok := in.fields[name]
	if !ok {
		return nil
	}
	if err := checkDepth(raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return wrapf(err, http.StatusBadRequest, codeBadRequest, "field %q: %s", name, jsonProblem(err))
	}
	return nil
}

// readImages reads a body that carries a list of images (one or more) and option fields.
func (s *Server) readImages(w http.ResponseWriter, r *http.Request) (*input, error) {
	return s.read(w, r, true)
}

// readInput reads a body that carries exactly the named images and option fields.
func (s *Server) readInput(w http.ResponseWriter, r *http.Request, imageNames ...string) (*input, error) {
	return s.read(w, r, false, imageNames...)
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, list bool, imageNames ...string) (*input, error) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	in := &input{images: map[string][]byte{}, fields: map[string]json.RawMessage{}}
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil {
		return nil, errf(http.StatusUnsupportedMediaType, codeUnsupported, "Content-Type %q: send multipart/form-data, application/json or an image/* body", ct)
	}
	isImageName := func(n string) bool {
		for _, x := range imageNames {
			if x == n {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(mt, "image/") || mt == "application/octet-stream":
		if list {
			data, err := io.ReadAll(r.Body)
			if err != nil {
				return nil, bodyError(err)
			}
			in.list = append(in.list, data)
			return in, nil
		}
		if len(imageNames) != 1 {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "this endpoint takes %d images: send multipart/form-data or JSON", len(imageNames))
		}
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, bodyError(err)
		}
		in.images[imageNames[0]] = data
	case mt == "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, bodyError(err)
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return nil, bodyError(err)
			}
			name := part.FormName()
			switch {
			case list && (part.FileName() != "" || name == "image" || name == "images"):
				in.list = append(in.list, data)
			case isImageName(name):
				in.images[name] = data
			case part.FileName() != "" && len(imageNames) == 1 && in.images[imageNames[0]] == nil:
				in.images[imageNames[0]] = data // a lone file part under another name
			default:
				in.fields[name] = formValue(data)
			}
		}
	case mt == "application/json":
		var obj map[string]json.RawMessage
		dec := json.NewDecoder(limitDepth(r.Body))
		if err := dec.Decode(&obj); err != nil {
			return nil, bodyError(err)
		}
		for k, v := range obj {
			if list && (k == "image" || k == "images") {
				var many []string
				if err := json.Unmarshal(v, &many); err != nil {
					var one string
					if err := json.Unmarshal(v, &one); err != nil {
						return nil, errf(http.StatusBadRequest, codeBadRequest, "field %q must be a base64 string or an array of them", k)
					}
					many = []string{one}
				}
				for i, b64 := range many {
					data, err := decodeBase64(b64)
					if err != nil {
						return nil, errf(http.StatusBadRequest, codeBadImage, "field %q[%d] is not valid base64", k, i)
					}
					in.list = append(in.list, data)
				}
				continue
			}
			if !isImageName(k) {
				in.fields[k] = v
				continue
			}
			var b64 string
			if err := json.Unmarshal(v, &b64); err != nil {
				return nil, errf(http.StatusBadRequest, codeBadRequest, "field %q must be a base64 string", k)
			}
			data, err := decodeBase64(b64)
			if err != nil {
				return nil, errf(http.StatusBadRequest, codeBadImage, "field %q is not valid base64", k)
			}
			in.images[k] = data
		}
	default:
		return nil, errf(http.StatusUnsupportedMediaType, codeUnsupported, "Content-Type %q: send multipart/form-data, application/json or an image/* body", mt)
	}
	for _, n := range imageNames {
		if _, ok := in.images[n]; !ok {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "missing image %q", n)
		}
	}
	return in, nil
}

// formValue turns a multipart text field into JSON: valid JSON stays as it is, anything else becomes a string.
func formValue(data []byte) json.RawMessage {
	t := bytes.TrimSpace(data)
	if json.Valid(t) {
		return json.RawMessage(t)
	}
	q, _ := json.Marshal(string(data))
	return q
}

func decodeBase64(s string) ([]byte, error) {
	if strings.HasPrefix(s, "data:") {
		if i := strings.Index(s, ","); i >= 0 {
			s = s[i+1:]
		}
	}
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not valid base64")
}

func bodyError(err error) error {
	if ae := (*apiError)(nil); errors.As(err, &ae) {
		return ae // the body nests too deep (limitDepth)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errf(http.StatusRequestEntityTooLarge, codeTooLarge, "request body over %d bytes", mbe.Limit)
	}
	return wrapf(err, http.StatusBadRequest, codeBadRequest, "%s", jsonProblem(err))
}

// jsonProblem says in plain words what is wrong with a request body that did not decode, without the decoder's
// package prefixes ("json: …", "multipart: …").
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("the JSON body is malformed at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind()), typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("the value must be %s, not %s", jsonKind(typ.Type.Kind()), typ.Value)
	case strings.HasPrefix(msg, "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(msg, "json: unknown field ") + ": docs/api.md lists each route's fields"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the request body ends early: send all of it"
	case strings.HasPrefix(msg, "multipart: "):
		return "the multipart/form-data body is malformed: send it with its boundary, as an HTTP client's form encoder writes it"
	}
	return "the request body cannot be read"
}

// jsonKind names the JSON type that decodes into a Go kind.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range" // "number 0.5" or "number 1e30" is a number, but not this one
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "an object"
}

// decodeImage decodes one uploaded image within the server's pixel and memory limits: an image whose header says
// it would need more than MaxImageMemory (a small 16-bit PNG of many megapixels) is refused before any pixel memory
// is allocated, with ErrTooLarge (413 too_large) and a sentence saying what to send instead.
func (s *Server) decodeImage(data []byte) (*imgio.Image, error) {
	img, _, err := imgio.Decode(data, imgio.Limits{MaxBytes: s.cfg.MaxBodyBytes, MaxPixels: s.cfg.MaxPixels, MaxMemory: s.cfg.MaxImageMemory})
	return img, err
}
