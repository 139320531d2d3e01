package facegate

import (
	"context"
	"errors"
	"time"
)

// Errors every store backend returns (wrapped) so callers can map them to API responses.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrLastAdminKey: revoking the key would leave no admin key in force, and nobody could manage the
	// deployment through the API again.
	ErrLastAdminKey = errors.New("the last admin key cannot be revoked")
)

// Gallery is a named set of enrolled subjects searched together.
type Gallery struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Threshold is the gallery's decision threshold on cosine similarity; FMR is the false-match rate it was
	// chosen for (0 when set directly).
	Threshold float64 `json:"threshold"`
	FMR       float64 `json:"fmr,omitempty"`
	// NoThumbnails stops the gallery from keeping face thumbnails of enrolled faces.
	NoThumbnails bool `json:"no_thumbnails,omitempty"`
	// Purpose is what the gallery is for; consent is given to purposes.
	Purpose Purpose `json:"purpose"`
	// Enrolment needs a valid consent of the subject covering Purpose, unless ConsentExempt, which requires a
	// recorded LegalBasis (a watchlist's legal instrument, a public research dataset's licence...). The zero
	// value requires consent.
	ConsentExempt bool   `json:"consent_exempt,omitempty"`
	LegalBasis    string `json:"legal_basis,omitempty"`
	// RetentionDays deletes enrolled faces this many days after their enrolment (0: kept until erased).
	RetentionDays int       `json:"retention_days,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Subject is one enrolled person in a gallery.
type Subject struct {
	ID          string            `json:"id"`
	GalleryID   string            `json:"gallery_id"`
	ExternalID  string            `json:"external_id,omitempty"` // unique within the gallery when set
	DisplayName string            `json:"display_name,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// Minor flags a child: consent must come from a guardian, and minors are never put on watchlists.
	Minor bool `json:"minor,omitempty"`
	// Watch is the watchlist entry of a subject of a watchlist gallery (required there).
	Watch     *WatchEntry `json:"watch,omitempty"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// FaceRecord is one enrolled face of a subject: its template, where it was in the enrolment image, its quality,
// and optionally a small JPEG thumbnail. The enrolment image itself is never stored.
type FaceRecord struct {
	ID        string    `json:"id"`
	GalleryID string    `json:"gallery_id"`
	SubjectID string    `json:"subject_id"`
	Template  []float32 `json:"-"`
	Box       Box       `json:"box"`
	Quality   Quality   `json:"quality"`
	Thumbnail []byte    `json:"-"`
	// Source is the hash (hex) of the image the face was enrolled from, when known: its SHA-256, or, in a store
	// sealed with a template key, HMAC-SHA256 of that under a key kept sealed in the store (the JSON name
	// stays source_sha256). A subject has at most one face per source, so re-sending an image cannot enrol it
	// twice.
	Source    string    `json:"source_sha256,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Role is what an API key may do.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin    Role = "admin"    // keys, galleries, settings, and everything below
	RoleOperator Role = "operator" // enrol, delete, search
	RoleDevice   Role = "device"   // search and verify only
)

// APIKey is a stored API key. The secret is never stored, only its hash.
type APIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked,omitempty"`
}

// Page asks for one page of a listing: items after the cursor After (an ID, "" for the first page), at most
// Limit of them.
type Page struct {
	After string
	Limit int
	// Query, when not empty, keeps the subjects whose display name contains it (ignoring case) or whose
	// external ID equals it.
	Query string
}

// Store is the system of record. Every method is safe for concurrent use; a method that returns nil has made its
// change durable.
type Store interface {
	CreateGallery(ctx context.Context, g *Gallery) error
	Gallery(ctx context.Context, id string) (*Gallery, error)
	Galleries(ctx context.Context) ([]Gallery, error)
	UpdateGallery(ctx context.Context, g *Gallery) error
	// DeleteGallery removes the gallery with all its subjects, faces and match crops in one transaction.
	DeleteGallery(ctx context.Context, id string) error

	CreateSubject(ctx context.Context, s *Subject) error
	// CreateSubjectWithFaces stores a new subject and its faces in one transaction: all of them or none.
	CreateSubjectWithFaces(ctx context.Context, s *Subject, faces []*FaceRecord) error
	// CreateSubjectWithConsent is CreateSubjectWithFaces with the subject's first consent records stored in the
	// same transaction, before the faces, so that a consent-requiring gallery accepts them.
	CreateSubjectWithConsent(ctx context.Context, s *Subject, consents []*Consent, faces []*FaceRecord) error
	Subject(ctx context.Context, galleryID, id string) (*Subject, error)
	// SubjectByExternalID finds the gallery's subject with the given external ID.
	SubjectByExternalID(ctx context.Context, galleryID, externalID string) (*Subject, error)
	// Subjects lists a gallery's subjects in ID order.
	Subjects(ctx context.Context, galleryID string, p Page) ([]Subject, error)
	UpdateSubject(ctx context.Context, s *Subject) error
	// DeleteSubject removes the subject, its faces (templates and thumbnails) and its match crops in one transaction.
	DeleteSubject(ctx context.Context, galleryID, id string) error

	// AddFace stores a face of an existing subject. In a gallery that requires consent it fails with
	// ErrConsent unless the subject has a valid consent covering the gallery's purpose, checked in the same
	// transaction as the insert.
	AddFace(ctx context.Context, f *FaceRecord) error
	// Faces lists a subject's faces. A face that cannot be read (tampered, corrupt) is left out and the others are
	// returned with a *BadRowsError naming it; Face returns a *BadRowsError for such a face.
	Faces(ctx context.Context, galleryID, subjectID string) ([]FaceRecord, error)
	Face(ctx context.Context, galleryID, subjectID, id string) (*FaceRecord, error)
	DeleteFace(ctx context.Context, galleryID, subjectID, id string) error
	// DeleteExpiredFaces deletes the faces older than their gallery's RetentionDays at time t and returns them
	// (IDs, gallery and subject only), so the caller can update the index.
	DeleteExpiredFaces(ctx context.Context, t time.Time) ([]FaceRecord, error)
	// EachTemplate calls fn for every stored face (without thumbnails), for loading the search index. Faces
	// whose template does not open or decode are skipped and listed, at the end, in a *BadRowsError.
	EachTemplate(ctx context.Context, fn func(f *FaceRecord) error) error

	CreateKey(ctx context.Context, k *APIKey) error
	KeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	Keys(ctx context.Context) ([]APIKey, error)
	// RevokeKey marks the key revoked; the last admin key in force is not revoked (ErrLastAdminKey).
	RevokeKey(ctx context.Context, id string) error

	StreamStore
	CrowdStore
	ReviewStore
	AuditStore

	// Setting and SetSetting keep small pieces of deployment state (e.g. the fingerprint of the template
	// transform the stored templates were made with); a missing setting is "".
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// AddConsent records a consent of an existing subject.
	AddConsent(ctx context.Context, c *Consent) error
	// Consents lists a subject's consent records, withdrawn ones included, oldest first.
	Consents(ctx context.Context, galleryID, subjectID string) ([]Consent, error)
	// WithdrawConsent marks a consent withdrawn at t and, in the same transaction, deletes the subject's faces
	// (templates and thumbnails) when no remaining consent covers the gallery's purpose and the gallery
	// requires consent. It returns the IDs of the deleted faces.
	WithdrawConsent(ctx context.Context, galleryID, subjectID, consentID string, t time.Time) ([]string, error)

	Close() error
}
