package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/envconfig"
)

// Client calls a facegate server. It is safe for concurrent use.
type Client struct {
	base *url.URL
	key  string
	http *http.Client
	// Retries is how many times a rate-limited (429) request is retried after the server's Retry-After
	// (default 3; 0 disables retries).
	Retries int
}

// Environment variables ClientFromEnv reads.
const (
	EnvServer = "FACEGATE_SERVER"
	EnvKey    = "FACEGATE_KEY"
)

// DefaultServer is the address a client uses when none is given.
const DefaultServer = "http://localhost:8080"

// NewClient returns a client for the server at base (e.g. "http://localhost:8080") using API key key.
func NewClient(base, key string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api: server address %q: want http://host:port or https://host:port", base)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	return &Client{base: u, key: key, http: hc, Retries: 3}, nil
}

// ClientFromEnv is NewClient with base and key defaulting to $FACEGATE_SERVER (else DefaultServer) and
// $FACEGATE_KEY when empty.
func ClientFromEnv(base, key string) (*Client, error) {
	if base == "" {
		base = envconfig.Server() // DefaultServer when unset
	}
	if key == "" {
		key = envconfig.Key()
	}
	return NewClient(base, key, nil)
}

// body is a request body that can be sent more than once (for retries).
type body struct {
	data        []byte
	contentType string
}

func jsonBody(v any) (*body, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("api: encoding request: %w", err)
	}
	return &body{b, "application/json"}, nil
}

// multipartBody builds a form with the images (each as a file part named by names[i], or "image") and the
// fields, each field encoded as JSON unless it is a string.
func multipartBody(names []string, images [][]byte, fields map[string]any) (*body, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i, img := range images {
		name := "image"
		if i < len(names) {
			name = names[i]
		}
		w, err := mw.CreateFormFile(name, name+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		w.Write(img)
	}
	for k, v := range fields {
		var s string
		if str, ok := v.(string); ok {
			s = str
		} else {
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("api: encoding field %s: %w", k, err)
			}
			s = string(b)
		}
		if err := mw.WriteField(k, s); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return &body{buf.Bytes(), mw.FormDataContentType()}, nil
}

// do sends a request and decodes a JSON response into out (when not nil). Non-2xx responses become *Error.
// It returns the HTTP status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, b *body, out any) (int, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	for attempt := 0; ; attempt++ {
		var rd io.Reader
		if b != nil {
			rd = bytes.NewReader(b.data)
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
		if err != nil {
			return 0, fmt.Errorf("api: %w", err)
		}
		if b != nil {
			req.Header.Set("Content-Type", b.contentType)
		}
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, fmt.Errorf("api: %s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, fmt.Errorf("api: %s %s: reading response: %w", method, path, err)
		}
		if resp.StatusCode >= 300 {
			e := &Error{Status: resp.StatusCode}
			var eb ErrorBody
			if json.Unmarshal(data, &eb) == nil && eb.Error.Code != "" {
				e.Code, e.Message, e.Details = eb.Error.Code, eb.Error.Message, eb.Error.Details
			} else {
				e.Code, e.Message = "http_"+strconv.Itoa(resp.StatusCode), strings.TrimSpace(string(data))
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				e.RetryAfter = time.Duration(s) * time.Second
			}
			if resp.StatusCode == http.StatusTooManyRequests && attempt < c.Retries {
				select {
				case <-time.After(max(e.RetryAfter, 100*time.Millisecond)):
					continue
				case <-ctx.Done():
					return resp.StatusCode, e
				}
			}
			return resp.StatusCode, e
		}
		if raw, ok := out.(*[]byte); ok { // a non-JSON body (an image), as it is
			*raw = data
			return resp.StatusCode, nil
		}
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, fmt.Errorf("api: %s %s: decoding response: %w", method, path, err)
			}
		}
		return resp.StatusCode, nil
	}
}

func esc(s string) string { return url.PathEscape(s) }

// IsCode reports whether err is an API error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Health checks /readyz.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, "GET", "/readyz", nil, nil, nil)
	return err
}

// Detect finds the faces in an image; attributes may name age, gender, expression and liveness.
func (c *Client) Detect(ctx context.Context, image []byte, attributes ...string) (*DetectResponse, error) {
	b, err := multipartBody(nil, [][]byte{image}, map[string]any{"attributes": strings.Join(attributes, ",")})
	if err != nil {
		return nil, err
	}
	var out DetectResponse
	_, err = c.do(ctx, "POST", "/v1/detect", nil, b, &out)
	return &out, err
}

// Compare compares the most prominent faces of two images.
func (c *Client) Compare(ctx context.Context, a, b []byte) (*CompareResponse, error) {
	body, err := multipartBody([]string{"a", "b"}, [][]byte{a, b}, nil)
	if err != nil {
		return nil, err
	}
	var out CompareResponse
	_, err = c.do(ctx, "POST", "/v1/compare", nil, body, &out)
	return &out, err
}

// CreateGallery creates a gallery.
func (c *Client) CreateGallery(ctx context.Context, req GalleryRequest) (*facegate.Gallery, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var g facegate.Gallery
	_, err = c.do(ctx, "POST", "/v1/galleries", nil, b, &g)
	return &g, err
}

// Galleries lists the galleries.
func (c *Client) Galleries(ctx context.Context) ([]GalleryInfo, error) {
	var out GalleryList
	_, err := c.do(ctx, "GET", "/v1/galleries", nil, nil, &out)
	return out.Galleries, err
}

// Gallery returns a gallery by ID or name.
func (c *Client) Gallery(ctx context.Context, ref string) (*GalleryInfo, error) {
	var out GalleryInfo
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(ref), nil, nil, &out)
	return &out, err
}

// UpdateGallery changes a gallery.
func (c *Client) UpdateGallery(ctx context.Context, ref string, req GalleryRequest) (*facegate.Gallery, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var g facegate.Gallery
	_, err = c.do(ctx, "PATCH", "/v1/galleries/"+esc(ref), nil, b, &g)
	return &g, err
}

// DeleteGallery deletes a gallery with all its subjects and faces.
func (c *Client) DeleteGallery(ctx context.Context, ref string) error {
	_, err := c.do(ctx, "DELETE", "/v1/galleries/"+esc(ref), nil, nil, nil)
	return err
}

// CreateSubject creates a subject in a gallery, enrolling images with it in the same transaction (all or
// nothing) when any are given.
func (c *Client) CreateSubject(ctx context.Context, gallery string, s SubjectRequest, opt EnrolOptions, images ...[]byte) (*SubjectCreated, error) {
	fields := enrolFields(opt)
	if s.ExternalID != nil {
		fields["external_id"] = *s.ExternalID
	}
	if s.DisplayName != nil {
		fields["display_name"] = *s.DisplayName
	}
	if s.Metadata != nil {
		fields["metadata"] = *s.Metadata
	}
	if s.Minor != nil {
		fields["minor"] = *s.Minor
	}
	if s.Watch != nil {
		fields["watch"] = s.Watch
	}
	if s.Consent != nil {
		fields["consent"] = s.Consent
	}
	var b *body
	var err error
	if len(images) > 0 {
		b, err = multipartBody(nil, images, fields)
	} else {
		b, err = jsonBody(fields)
	}
	if err != nil {
		return nil, err
	}
	var out SubjectCreated
	_, err = c.do(ctx, "POST", "/v1/galleries/"+esc(gallery)+"/subjects", nil, b, &out)
	return &out, err
}

// Subjects returns one page of a gallery's subjects (limit 0: the server's default).
func (c *Client) Subjects(ctx context.Context, gallery, after string, limit int) (*SubjectList, error) {
	q := url.Values{}
	if after != "" {
		q.Set("after", after)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out SubjectList
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects", q, nil, &out)
	return &out, err
}

// SubjectByExternalID finds a subject by its external ID; a missing one is an *Error with CodeNotFound.
func (c *Client) SubjectByExternalID(ctx context.Context, gallery, externalID string) (*facegate.Subject, error) {
	var out SubjectList
	if _, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects", url.Values{"external_id": {externalID}}, nil, &out); err != nil {
		return nil, err
	}
	if len(out.Subjects) == 0 {
		return nil, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: fmt.Sprintf("no subject with external ID %q", externalID)}
	}
	return &out.Subjects[0], nil
}

// Subject returns a subject and its number of faces.
func (c *Client) Subject(ctx context.Context, gallery, id string) (*SubjectInfo, error) {
	var out SubjectInfo
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(id), nil, nil, &out)
	return &out, err
}

// UpdateSubject changes a subject.
func (c *Client) UpdateSubject(ctx context.Context, gallery, id string, req SubjectRequest) (*facegate.Subject, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out facegate.Subject
	_, err = c.do(ctx, "PATCH", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(id), nil, b, &out)
	return &out, err
}

// DeleteSubject deletes a subject with its faces.
func (c *Client) DeleteSubject(ctx context.Context, gallery, id string) error {
	_, err := c.do(ctx, "DELETE", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(id), nil, nil, nil)
	return err
}

func enrolFields(o EnrolOptions) map[string]any {
	f := map[string]any{}
	if o.TakeLargest {
		f["take_largest"] = true
	}
	if o.AllowEyesClosed {
		f["allow_eyes_closed"] = true
	}
	if o.RequireLive {
		f["require_live"] = true
	}
	if o.AllowDuplicate {
		f["allow_duplicate"] = true
	}
	for k, v := range map[string]*float32{"min_size": o.MinSize, "min_quality": o.MinQuality, "min_sharpness": o.MinSharpness, "max_yaw": o.MaxYaw, "max_pitch": o.MaxPitch} {
		if v != nil {
			f[k] = *v
		}
	}
	return f
}

// Enrol adds a face to a subject from an image. A rejected image is an *Error whose Reasons say why.
func (c *Client) Enrol(ctx context.Context, gallery, subject string, image []byte, opt EnrolOptions) (*Enrolled, error) {
	b, err := multipartBody(nil, [][]byte{image}, enrolFields(opt))
	if err != nil {
		return nil, err
	}
	var out Enrolled
	_, err = c.do(ctx, "POST", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/faces", nil, b, &out)
	return &out, err
}

// Faces lists a subject's enrolled faces.
func (c *Client) Faces(ctx context.Context, gallery, subject string) ([]facegate.FaceRecord, error) {
	var out FaceList
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/faces", nil, nil, &out)
	return out.Faces, err
}

// DeleteFace deletes one enrolled face.
func (c *Client) DeleteFace(ctx context.Context, gallery, subject, face string) error {
	_, err := c.do(ctx, "DELETE", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/faces/"+esc(face), nil, nil, nil)
	return err
}

// Search identifies every face of a probe image against a gallery (topK 0: the server's default of 5).
func (c *Client) Search(ctx context.Context, gallery string, image []byte, topK int) (*SearchResponse, error) {
	fields := map[string]any{}
	if topK > 0 {
		fields["top_k"] = topK
	}
	b, err := multipartBody(nil, [][]byte{image}, fields)
	if err != nil {
		return nil, err
	}
	var out SearchResponse
	_, err = c.do(ctx, "POST", "/v1/galleries/"+esc(gallery)+"/search", nil, b, &out)
	return &out, err
}

// Verify checks whether an image's most prominent face is the subject.
func (c *Client) Verify(ctx context.Context, gallery, subject string, image []byte) (*VerifyResponse, error) {
	b, err := multipartBody(nil, [][]byte{image}, nil)
	if err != nil {
		return nil, err
	}
	var out VerifyResponse
	_, err = c.do(ctx, "POST", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/verify", nil, b, &out)
	return &out, err
}

// CreateKey creates an API key; the secret is returned only here.
func (c *Client) CreateKey(ctx context.Context, name string, role facegate.Role) (*KeyCreated, error) {
	b, err := jsonBody(KeyRequest{Name: name, Role: role})
	if err != nil {
		return nil, err
	}
	var out KeyCreated
	_, err = c.do(ctx, "POST", "/v1/keys", nil, b, &out)
	return &out, err
}

// Keys lists the API keys (never their secrets).
func (c *Client) Keys(ctx context.Context) ([]facegate.APIKey, error) {
	var out KeyList
	_, err := c.do(ctx, "GET", "/v1/keys", nil, nil, &out)
	return out.Keys, err
}

// RevokeKey revokes an API key.
func (c *Client) RevokeKey(ctx context.Context, id string) error {
	_, err := c.do(ctx, "DELETE", "/v1/keys/"+esc(id), nil, nil, nil)
	return err
}

// AddConsent records a consent of a subject.
func (c *Client) AddConsent(ctx context.Context, gallery, subject string, req ConsentRequest) (*facegate.Consent, error) {
	b, err := jsonBody(req)
	if err != nil {
		return nil, err
	}
	var out facegate.Consent
	_, err = c.do(ctx, "POST", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/consents", nil, b, &out)
	return &out, err
}

// Consents lists a subject's consent records, withdrawn ones included.
func (c *Client) Consents(ctx context.Context, gallery, subject string) ([]facegate.Consent, error) {
	var out ConsentList
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/consents", nil, nil, &out)
	return out.Consents, err
}

// WithdrawConsent withdraws a consent; the subject's faces are erased in the same request when no other consent
// covers the gallery's purpose.
func (c *Client) WithdrawConsent(ctx context.Context, gallery, subject, consent string) (*ConsentWithdrawn, error) {
	var out ConsentWithdrawn
	_, err := c.do(ctx, "DELETE", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/consents/"+esc(consent), nil, nil, &out)
	return &out, err
}

// ExportSubject downloads everything stored about a subject: a ZIP with subject.json (SubjectExport) and images.
func (c *Client) ExportSubject(ctx context.Context, gallery, subject string) ([]byte, error) {
	var raw []byte
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/export", nil, nil, &raw)
	return raw, err
}

// Alerts lists watchlist alerts, newest first ("" status or gallery: all).
func (c *Client) Alerts(ctx context.Context, status facegate.AlertStatus, gallery string) ([]AlertView, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", string(status))
	}
	if gallery != "" {
		q.Set("gallery", gallery)
	}
	var out AlertList
	_, err := c.do(ctx, "GET", "/v1/alerts", q, nil, &out)
	return out.Alerts, err
}

// ReviewAlert confirms or rejects a pending alert (decision "confirm" or "reject").
func (c *Client) ReviewAlert(ctx context.Context, id, decision, note string) (*facegate.Alert, error) {
	b, err := jsonBody(ReviewRequest{Decision: decision, Note: note})
	if err != nil {
		return nil, err
	}
	var out facegate.Alert
	_, err = c.do(ctx, "POST", "/v1/alerts/"+esc(id)+"/review", nil, b, &out)
	return &out, err
}

// ExportDataset downloads a gallery as an annotated dataset (a ZIP) of the subjects whose consent covers
// purpose ("" = research_dataset).
func (c *Client) ExportDataset(ctx context.Context, gallery string, purpose facegate.Purpose) ([]byte, error) {
	b, err := jsonBody(DatasetRequest{Purpose: purpose})
	if err != nil {
		return nil, err
	}
	var raw []byte
	_, err = c.do(ctx, "POST", "/v1/galleries/"+esc(gallery)+"/datasets", nil, b, &raw)
	return raw, err
}
