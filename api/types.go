// Package api is facegate's HTTP API as Go: the request and response bodies the server sends and receives, and
// a Client that speaks them. The server, the CLI and the tests all use these types, so the three cannot drift
// apart. docs/api.md describes the routes; the server serves the OpenAPI document at /openapi.json.
package api

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

// ErrorBody is the body of every error response: {"error": {...}}.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error is an API error: the HTTP status, a machine-readable code, a message for people and, for some codes,
// details (enrolment rejections list their reasons there).
type Error struct {
	Status  int             `json:"-"`
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Details json.RawMessage `json:"details,omitempty"`
	// RetryAfter is the server's Retry-After on a 429.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

// Reasons returns the rejection reasons in an enrolment error's details, if any.
func (e *Error) Reasons() []Rejection {
	var d struct {
		Reasons []Rejection `json:"reasons"`
		Images  []struct {
			Details struct {
				Reasons []Rejection `json:"reasons"`
			} `json:"details"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"images"`
	}
	if len(e.Details) == 0 || json.Unmarshal(e.Details, &d) != nil {
		return nil
	}
	out := d.Reasons
	for _, im := range d.Images {
		if len(im.Details.Reasons) == 0 {
			out = append(out, Rejection{Code: im.Code, Message: im.Message})
		}
		out = append(out, im.Details.Reasons...)
	}
	return out
}

// Rejection is one reason an image was not enrolled (like Rekognition's UnindexedFaces reasons).
type Rejection = facegate.Rejection

// Error codes.
const (
	CodeBadRequest      = "bad_request"
	CodeBadImage        = "bad_image"
	CodeEmptyImage      = "empty_image"
	CodeTruncatedImage  = "truncated_image"
	CodeUnsupported     = "unsupported_media_type"
	CodeTooLarge        = "too_large"
	CodeNoFace          = "no_face"
	CodeMultipleFaces   = "multiple_faces"
	CodeQualityRejected = "quality_rejected"
	CodeNotFound        = "not_found"
	CodeConflict        = "conflict"
	CodeUnauthorized    = "unauthorized"
	CodeForbidden       = "forbidden"
	CodeRateLimited     = "rate_limited"
	CodeTimeout         = "timeout"
	// CodeBusy: no analysis slot became free before the request ended (503): the server is saturated, or the
	// key already runs its share of analyses (serve --max-analyses-per-key). Retry later.
	CodeBusy = "busy"
	// CodeMinFaceTooSmall: min_face below the engine's floor (400; engine.MinFaceFloor, 10 pixels).
	CodeMinFaceTooSmall = "min_face_too_small"
	CodeBadSource       = "bad_source"
	CodeConsentRequired = "consent_required"
	CodeMinorWatchlist  = "minor_on_watchlist"
	CodeInferenceOff    = "inference_disabled"
	CodeInternal        = "internal"
	// CodeAuditUnavailable (503): the audit entry of the request could not be written, so the request was not
	// served (nothing it would have changed was changed).
	CodeAuditUnavailable = "audit_unavailable"
	// CodeStorageFull (507): the server's disk is full; nothing was changed.
	CodeStorageFull = "storage_full"
	// CodePossibleDuplicate: the face to enrol already matches another subject of the gallery (409; send
	// allow_duplicate=true to enrol it anyway).
	CodePossibleDuplicate = "possible_duplicate"
	// CodeTooLong: a name, id, note or metadata is over its length limit (facegate.Max*), or a JSON body nests
	// deeper than facegate.MaxJSONDepth (400).
	CodeTooLong = "too_long"
	// CodePurposeNotCovered: a gallery's purpose cannot change while some of its subjects' consent (or, for a
	// watchlist, watch entry) does not cover the new purpose (409).
	CodePurposeNotCovered = "purpose_not_covered"
	// CodeLastAdminKey: the key is the last admin key in force (409); create another admin key first.
	CodeLastAdminKey = "last_admin_key"
	// CodePeriodTooLong: the period of a stream's heatmap holds more stored crowd intervals than one heatmap
	// sums (400; 20,000 by default): narrow from and to.
	CodePeriodTooLong = "period_too_long"
)

// GalleryRequest creates or changes a gallery; nil fields are left as they are (or defaulted on creation).
// Threshold and FMR are alternatives: a target false-match rate picks the calibrated threshold for it.
type GalleryRequest struct {
	Name         *string  `json:"name,omitempty"`
	Description  *string  `json:"description,omitempty"`
	Threshold    *float64 `json:"threshold,omitempty"`
	FMR          *float64 `json:"fmr,omitempty"`
	NoThumbnails *bool    `json:"no_thumbnails,omitempty"`
	// Purpose (default access_control), ConsentExempt (only with LegalBasis; a watchlist with a legal basis
	// is exempt unless this says otherwise) and RetentionDays (0: faces kept until erased).
	Purpose       *facegate.Purpose `json:"purpose,omitempty"`
	ConsentExempt *bool             `json:"consent_exempt,omitempty"`
	LegalBasis    *string           `json:"legal_basis,omitempty"`
	RetentionDays *int              `json:"retention_days,omitempty"`
}

// GalleryInfo is a gallery with its current size.
type GalleryInfo struct {
	facegate.Gallery
	Subjects  int `json:"subjects"`
	Templates int `json:"templates"`
}

// GalleryList is the response of GET /v1/galleries.
type GalleryList struct {
	Galleries []GalleryInfo `json:"galleries"`
}

// SubjectRequest creates or changes a subject; nil fields are left as they are. Consent is only read on
// creation: the subject's first consent record, stored with it (and before its faces) in one transaction.
type SubjectRequest struct {
	ExternalID  *string            `json:"external_id,omitempty"`
	DisplayName *string            `json:"display_name,omitempty"`
	Metadata    *map[string]string `json:"metadata,omitempty"`
	Minor       *bool              `json:"minor,omitempty"`
	// Watch is required in a watchlist gallery: why the person is on it and when the entry must be reviewed
	// (added_by is set by the server to the calling key).
	Watch   *facegate.WatchEntry `json:"watch,omitempty"`
	Consent *ConsentRequest      `json:"consent,omitempty"`
}

// ConsentRequest records a consent: POST .../subjects/{s}/consents, or "consent" when creating a subject.
// Purposes default to the gallery's purpose; GivenAt to now.
type ConsentRequest struct {
	GivenBy   string             `json:"given_by"`
	Guardian  bool               `json:"guardian,omitempty"`
	Purposes  []facegate.Purpose `json:"purposes,omitempty"`
	Evidence  string             `json:"evidence"`
	GivenAt   time.Time          `json:"given_at,omitzero"`
	ExpiresAt time.Time          `json:"expires_at,omitzero"`
}

// ConsentList is GET .../subjects/{s}/consents.
type ConsentList struct {
	Consents []facegate.Consent `json:"consents"`
}

// ConsentWithdrawn is DELETE .../subjects/{s}/consents/{c}: the consent, now withdrawn, and how many faces
// were erased with it (all of them when no other consent covers the gallery's purpose).
type ConsentWithdrawn struct {
	Consent     facegate.Consent `json:"consent"`
	ErasedFaces int              `json:"erased_faces"`
}

// SubjectInfo is a subject with the number of its enrolled faces.
type SubjectInfo struct {
	Subject facegate.Subject `json:"subject"`
	Faces   int              `json:"faces"`
}

// SubjectCreated is the response of POST .../subjects: the subject and the faces enrolled with it.
type SubjectCreated struct {
	Subject facegate.Subject      `json:"subject"`
	Faces   []facegate.FaceRecord `json:"faces"`
}

// SubjectList is one page of a gallery's subjects; Next is the cursor for the next page ("" at the end).
type SubjectList struct {
	Subjects []facegate.Subject `json:"subjects"`
	Next     string             `json:"next"`
}

// EnrolOptions is the enrolment quality gate. TakeLargest enrols the most prominent face of an image with
// several (the largest, discounted by its distance from the centre) instead of rejecting it. The zero value
// asks for the server's defaults: exactly one face, at least 60 px high, quality score at least 0.4,
// sharpness at least 0.2, |yaw| <= 30, |pitch| <= 25, eyes open, liveness not checked.
type EnrolOptions struct {
	TakeLargest     bool     `json:"take_largest,omitempty"`
	MinSize         *float32 `json:"min_size,omitempty"`
	MinQuality      *float32 `json:"min_quality,omitempty"`
	MinSharpness    *float32 `json:"min_sharpness,omitempty"`
	MaxYaw          *float32 `json:"max_yaw,omitempty"`
	MaxPitch        *float32 `json:"max_pitch,omitempty"`
	AllowEyesClosed bool     `json:"allow_eyes_closed,omitempty"`
	RequireLive     bool     `json:"require_live,omitempty"`
	// AllowDuplicate enrols a face that already matches another subject of the gallery (otherwise 409
	// possible_duplicate).
	AllowDuplicate bool `json:"allow_duplicate,omitempty"`
}

// Enrolled is the response of POST .../faces. Duplicate is true (and the status 200) when the subject already
// had a face from the same image; Face is then that face.
type Enrolled struct {
	Face         facegate.FaceRecord `json:"face"`
	Duplicate    bool                `json:"duplicate,omitempty"`
	FacesInImage int                 `json:"faces_in_image,omitempty"`
}

// FaceList is the response of GET .../faces.
type FaceList struct {
	Faces []facegate.FaceRecord `json:"faces"`
}

// Candidate is one subject a probe face may be.
type Candidate struct {
	SubjectID   string  `json:"subject_id"`
	ExternalID  string  `json:"external_id,omitempty"`
	DisplayName string  `json:"display_name,omitempty"`
	FaceID      string  `json:"face_id"` // the subject's best-matching enrolled face
	Score       float32 `json:"score"`   // the best similarity over the subject's faces
	Match       bool    `json:"match"`   // Score reaches the gallery's threshold (and was not rejected before)
	// Suppressed: the score reaches the threshold, but the face looks more like a capture a reviewer rejected
	// as "not this person" for this watchlist subject than like the subject's own photos, so it is not a match;
	// Suppression says which rejection (undo it with DELETE .../subjects/{s}/rejections/{id}).
	Suppressed  bool                  `json:"suppressed,omitempty"`
	Suppression *facegate.Suppression `json:"suppression,omitempty"`
}

// Result values of a searched face.
const (
	ResultMatch   = "match"
	ResultUnknown = "unknown"
)

// SearchFace is one face found in a probe image with its candidates, best first.
type SearchFace struct {
	facegate.Face
	Result     string      `json:"result"` // ResultMatch or ResultUnknown
	Candidates []Candidate `json:"candidates"`
	// Match is the candidate the face was identified as (the best one that reaches the threshold and was not
	// suppressed), when Result is "match".
	Match *Candidate `json:"match,omitempty"`
	// AlertID is the alert a match against a watchlist raised or joined (AlertNew: raised): a person must review
	// it.
	AlertID  string `json:"alert_id,omitempty"`
	AlertNew bool   `json:"alert_new,omitempty"`
}

// SearchResponse is the response of POST /v1/galleries/{g}/search.
type SearchResponse struct {
	Gallery   string  `json:"gallery"`
	Threshold float64 `json:"threshold"`
	// Width and Height are the probe image's size after EXIF orientation.
	Width  int          `json:"width"`
	Height int          `json:"height"`
	Faces  []SearchFace `json:"faces"`
	// FacesFound and FacesTruncated are as in DetectResponse: only the largest faces of a crowd are searched.
	FacesFound     int  `json:"faces_found"`
	FacesTruncated bool `json:"faces_truncated"`
}

// VerifyResponse is the response of POST .../subjects/{s}/verify.
type VerifyResponse struct {
	SubjectID    string        `json:"subject_id"`
	Score        float32       `json:"score"`
	FaceID       string        `json:"face_id"`
	Match        bool          `json:"match"`
	Threshold    float64       `json:"threshold"`
	Face         facegate.Face `json:"face"`
	FacesInImage int           `json:"faces_in_image"`
	// Suppressed is set when the score reaches the threshold but a rejection of this watchlist subject stopped
	// the match.
	Suppressed *facegate.Suppression `json:"suppressed,omitempty"`
}

// DetectResponse is the response of POST /v1/detect.
type DetectResponse struct {
	Width  int             `json:"width"`
	Height int             `json:"height"`
	Faces  []facegate.Face `json:"faces"`
	// FacesFound is the number of faces detected; more than len(Faces) when FacesTruncated.
	FacesFound int `json:"faces_found"`
	// FacesTruncated is true when the image may hold more faces than Faces: only the largest are analysed
	// (engine.DefaultMaxFaces, 100), and detection stops confirming smaller candidates once it has that many.
	FacesTruncated bool `json:"faces_truncated"`
	// MinFaceUsed is the smallest face height searched for, in pixels: min_face (default 40), or larger when
	// searching that small in an image this large would take more than the engine's detector-run budget.
	MinFaceUsed int `json:"min_face_used"`
}

// CompareResponse is the response of POST /v1/compare.
type CompareResponse struct {
	Similarity float32       `json:"similarity"`
	Match      bool          `json:"match"`
	Threshold  float64       `json:"threshold"`
	FMR        float64       `json:"fmr,omitempty"`
	FaceA      facegate.Face `json:"face_a"`
	FaceB      facegate.Face `json:"face_b"`
	FacesInA   int           `json:"faces_in_a"`
	FacesInB   int           `json:"faces_in_b"`
}

// KeyRequest creates an API key.
type KeyRequest struct {
	Name string        `json:"name"`
	Role facegate.Role `json:"role"`
}

// KeyCreated is the response of POST /v1/keys; Secret is shown this once.
type KeyCreated struct {
	Key    facegate.APIKey `json:"key"`
	Secret string          `json:"secret"`
}

// KeyList is the response of GET /v1/keys.
type KeyList struct {
	Keys []facegate.APIKey `json:"keys"`
}

// Status is the body of /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}

// StreamRequest creates a stream: POST /v1/streams. Gallery is a gallery's ID or name. Unset fields take the
// defaults of facegate.Stream.
type StreamRequest struct {
	Name                 string            `json:"name"`
	Source               string            `json:"source"`
	Gallery              string            `json:"gallery,omitempty"`
	FPS                  float64           `json:"fps,omitempty"`
	MaxWidth             int               `json:"max_width,omitempty"`
	MinFace              int               `json:"min_face,omitempty"`
	Profile              string            `json:"profile,omitempty"`
	Loop                 bool              `json:"loop,omitempty"`
	NoRealtime           bool              `json:"no_realtime,omitempty"`
	CropRetentionHours   int               `json:"crop_retention_hours,omitempty"`
	UnknownCrops         bool              `json:"unknown_crops,omitempty"`
	CrowdIntervalSeconds int               `json:"crowd_interval_seconds,omitempty"`
	Webhook              *facegate.Webhook `json:"webhook,omitempty"`
	// Zones and Lines are where crowd figures count tracks (facegate.Zone, facegate.Line).
	Zones []facegate.Zone `json:"zones,omitempty"`
	Lines []facegate.Line `json:"lines,omitempty"`
}

// StreamHeatmap is GET /v1/streams/{id}/heatmap: the density heatmaps of the stream's crowd intervals that
// overlap the period asked for, summed cell by cell. From and To are the span of the intervals summed (absent
// when none is held); Total is the face-frames counted, Max the fullest cell.
type StreamHeatmap struct {
	Stream    string     `json:"stream"`
	From      *time.Time `json:"from,omitempty"`
	To        *time.Time `json:"to,omitempty"`
	Intervals int        `json:"intervals"`
	facegate.Heatmap
	Total int `json:"total"`
	Max   int `json:"max"`
}

// StreamCrowds is GET /v1/streams/{id}/crowd: the stream's stored crowd intervals that overlap the period asked
// for, in the order they ended (oldest first). More says the limit left some out: ask again with from set to the
// last interval's to.
type StreamCrowds struct {
	Stream    string           `json:"stream"`
	Intervals []facegate.Crowd `json:"intervals"`
	More      bool             `json:"more,omitempty"`
}

// StreamInfo is a stream's configuration (the webhook secret is never returned) with its live status.
type StreamInfo struct {
	facegate.Stream
	// HasCredentials says the stored source holds credentials: Source shows them masked
	// (rtsp://user:***@host/…); send the source back as shown to keep them.
	HasCredentials bool                  `json:"has_credentials,omitempty"`
	Status         facegate.StreamStatus `json:"status"`
}

// StreamList is GET /v1/streams.
type StreamList struct {
	Streams []StreamInfo `json:"streams"`
}

// EventList is GET /v1/events/recent: the newest events the server still holds in memory, oldest first.
type EventList struct {
	Events []facegate.Event `json:"events"`
}

// SubjectExport is subject.json in the ZIP of GET .../subjects/{s}/export: everything stored about one person.
type SubjectExport struct {
	ExportedAt time.Time          `json:"exported_at"`
	Gallery    ExportGallery      `json:"gallery"`
	Subject    facegate.Subject   `json:"subject"`
	Consents   []facegate.Consent `json:"consents"`
	Faces      []ExportFace       `json:"faces"`
	MatchCrops []ExportCrop       `json:"match_crops"`
	// Events are the events still held in memory that name the subject (crops omitted: see MatchCrops).
	Events []facegate.Event `json:"events"`
}

// ExportGallery says what the gallery holding the subject is for.
type ExportGallery struct {
	ID            string           `json:"id"`
	Name          string           `json:"name"`
	Purpose       facegate.Purpose `json:"purpose"`
	LegalBasis    string           `json:"legal_basis,omitempty"`
	RetentionDays int              `json:"retention_days,omitempty"`
}

// ExportFace is an enrolled face with its template (the biometric data itself) and its thumbnail's file.
type ExportFace struct {
	facegate.FaceRecord
	Template      []float32 `json:"template"`
	ThumbnailFile string    `json:"thumbnail_file,omitempty"`
}

// ExportCrop is a kept match crop and its file in the ZIP.
type ExportCrop struct {
	facegate.MatchCrop
	File string `json:"file"`
}

// ReviewRequest is POST /v1/alerts/{id}/review: "confirm" or "reject", with an optional note.
type ReviewRequest struct {
	Decision string `json:"decision"`
	Note     string `json:"note,omitempty"`
}

// AuditList is GET /v1/audit: entries in seq order; NextAfter, when not 0, is the "after" of the next page.
type AuditList struct {
	Entries   []audit.Entry `json:"entries"`
	NextAfter int64         `json:"next_after,omitempty"`
}

// AuditCheckpoints is GET /v1/audit/checkpoints, with the public key that verifies them (when the server signs).
type AuditCheckpoints struct {
	Checkpoints []audit.Checkpoint `json:"checkpoints"`
	PublicKey   string             `json:"public_key,omitempty"`
}

// DatasetRequest is POST /v1/galleries/{g}/datasets: the purpose the subjects' consent must cover (default
// research_dataset).
type DatasetRequest struct {
	Purpose facegate.Purpose `json:"purpose,omitempty"`
}

// DatasetManifest is manifest.json of a dataset export: the consent manifest and the annotations.
type DatasetManifest struct {
	ExportID  string           `json:"export_id"`
	CreatedAt time.Time        `json:"created_at"`
	CreatedBy string           `json:"created_by"` // API key id
	Gallery   string           `json:"gallery"`
	Purpose   facegate.Purpose `json:"purpose"`
	Subjects  []DatasetSubject `json:"subjects"`
	Faces     int              `json:"faces"`
	// Excluded counts the subjects left out because no consent in force covers Purpose; SkippedFaces the
	// faces whose stored image could not be annotated.
	Excluded     int `json:"excluded_no_consent"`
	SkippedFaces int `json:"skipped_faces,omitempty"`
}

// DatasetSubject is one person of a dataset, under a per-export pseudonym, with the consent that allows it.
type DatasetSubject struct {
	ID      string         `json:"id"`
	Minor   bool           `json:"minor,omitempty"`
	Consent DatasetConsent `json:"consent"`
	Faces   []DatasetFace  `json:"faces"`
}

// DatasetConsent is the consent record behind a dataset subject (who gave it is not exported).
type DatasetConsent struct {
	Purposes  []facegate.Purpose `json:"purposes"`
	Evidence  string             `json:"evidence"`
	Guardian  bool               `json:"guardian,omitempty"`
	GivenAt   time.Time          `json:"given_at"`
	ExpiresAt time.Time          `json:"expires_at,omitzero"`
}

// DatasetFace is one aligned face image and its annotations, in the aligned image's pixels.
type DatasetFace struct {
	File       string            `json:"file"`
	Width      int               `json:"width"`
	Height     int               `json:"height"`
	Box        facegate.Box      `json:"box"`
	Landmarks  []facegate.Point  `json:"landmarks"`
	Points5    [5]facegate.Point `json:"points5"`
	Pose       facegate.Pose     `json:"pose"`
	Quality    float32           `json:"quality"`
	Sharpness  float32           `json:"sharpness"`
	Expression string            `json:"expression,omitempty"`
}

// Me is GET /v1/me: who the calling key is and what the deployment has switched on.
type Me struct {
	KeyID               string        `json:"key_id"`
	Name                string        `json:"name"`
	Role                facegate.Role `json:"role"`
	Inferences          []string      `json:"inferences"`
	AuditSigned         bool          `json:"audit_signed"`
	TemplatesEncrypted  bool          `json:"templates_encrypted"`
	UnlinkableTemplates bool          `json:"unlinkable_templates"`
	Version             string        `json:"version"`
	// Quarantined lists, for admin keys only, the stored rows the server skipped at start because they cannot
	// be read (a tampered or corrupt template, an unparseable stream configuration).
	Quarantined []facegate.BadRow `json:"quarantined,omitempty"`
}

// Settings is GET and PUT /v1/settings: the sensitive inferences (age, gender, expression) /v1/detect may run.
type Settings struct {
	Inferences []string `json:"inferences"`
}
