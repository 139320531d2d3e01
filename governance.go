package facegate

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// Purpose is what a gallery is for. Consent is given to purposes, and an enrolment is allowed only when the
// subject's consent covers the purpose of the gallery (unless the gallery has a recorded legal basis instead).
type Purpose string

// The purposes.
const (
	PurposeAccessControl        Purpose = "access_control"        // doors, gates, estates, offices
	PurposeIdentityVerification Purpose = "identity_verification" // onboarding, ID photo against live face
	PurposePayment              Purpose = "payment"               // pay by face
	PurposeAttendance           Purpose = "attendance"            // time and attendance
	PurposeWatchlist            Purpose = "watchlist"             // people searched for; needs a legal basis
	PurposeResearch             Purpose = "research_dataset"      // training and evaluation data
	PurposeOther                Purpose = "other"
)

// Purposes lists every purpose.
var Purposes = []Purpose{PurposeAccessControl, PurposeIdentityVerification, PurposePayment, PurposeAttendance,
	PurposeWatchlist, PurposeResearch, PurposeOther}

// Valid reports whether p is one of Purposes.
func (p Purpose) Valid() bool { return slices.Contains(Purposes, p) }

// DefaultPurpose is the purpose of a gallery created without one.
const DefaultPurpose = PurposeAccessControl

// Governance errors, returned (wrapped) by stores and mapped to API errors.
var (
	// ErrConsent: the subject has no valid consent covering the gallery's purpose (or, for a minor, none
	// given by a guardian), so no face may be enrolled.
	ErrConsent = errors.New("no valid consent covers this gallery's purpose")
	// ErrMinorOnWatchlist: minors are never added to watchlists.
	ErrMinorOnWatchlist = errors.New("minors are never added to watchlists")
	// ErrInvalid: a record breaks a rule of the domain (a watchlist entry without a reason, say).
	ErrInvalid = errors.New("invalid")
	// ErrPurposeNotCovered: a gallery's purpose cannot change while some of its subjects are not covered for
	// the new purpose (PurposeCovered).
	ErrPurposeNotCovered = errors.New("the gallery's subjects are not covered for the new purpose")
)

// PurposeCovered reports whether a subject of a gallery may stay in it once the gallery's purpose becomes p, at
// time t: for a watchlist, the subject has a watch entry (a reason and a review date: someone decided, for this
// person, why they are on the list) and is not a minor; for any other purpose, one of the subject's consents
// covers p (Consent.Covers). A gallery's consent exemption does not count: it was recorded for the old purpose,
// and people enrolled under it never agreed to the new one.
func PurposeCovered(p Purpose, s *Subject, consents []Consent, t time.Time) bool {
	if p == PurposeWatchlist {
		return !s.Minor && s.Watch != nil && s.Watch.Reason != "" && !s.Watch.ReviewAt.IsZero()
	}
	for i := range consents {
		if consents[i].Covers(p, s.Minor, t) {
			return true
		}
	}
	return false
}

// Consent is a record that a person (or their guardian) agreed to the use of their face for some purposes.
type Consent struct {
	ID        string `json:"id"`
	GalleryID string `json:"gallery_id"`
	SubjectID string `json:"subject_id"`
	// GivenBy names who consented: the subject, or the guardian of a minor (Guardian set).
	GivenBy  string    `json:"given_by"`
	Guardian bool      `json:"guardian,omitempty"`
	Purposes []Purpose `json:"purposes"`
	// Evidence references the signed form, the recording or the checkbox event that proves it.
	Evidence string    `json:"evidence"`
	GivenAt  time.Time `json:"given_at"`
	// ExpiresAt ends the consent (zero: until withdrawn).
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// RecordedBy is the API key that recorded it.
	RecordedBy  string    `json:"recorded_by,omitempty"`
	WithdrawnAt time.Time `json:"withdrawn_at,omitzero"`
}

// Check reports what is wrong with a consent record before it is stored: a field over its length limit
// (ErrTooLong) or a missing or unknown one (ErrInvalid).
func (c *Consent) Check() error {
	if err := c.checkLimits(); err != nil {
		return err
	}
	switch {
	case c.GivenBy == "":
		return Userf(ErrInvalid, "a consent needs given_by: who consented (the person, or a minor's guardian)")
	case c.Evidence == "":
		return Userf(ErrInvalid, "a consent needs evidence: a reference to the signed form, recording or event that proves it")
	case len(c.Purposes) == 0:
		return Userf(ErrInvalid, "a consent needs at least one purpose")
	}
	for _, p := range c.Purposes {
		if !p.Valid() {
			return Userf(ErrInvalid, "unknown purpose %q: use one of %s", p, purposeList())
		}
	}
	if !c.ExpiresAt.IsZero() && !c.GivenAt.IsZero() && !c.ExpiresAt.After(c.GivenAt) {
		return Userf(ErrInvalid, "a consent's expires_at must be after its given_at")
	}
	return nil
}

// purposeList is the purposes for a message: "access_control, identity_verification, ...".
func purposeList() string {
	out := make([]string, len(Purposes))
	for i, p := range Purposes {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}

// Covers reports whether the consent allows purpose p at time t for a subject (minor: whether the subject is a
// minor, whose consent must come from a guardian).
func (c *Consent) Covers(p Purpose, minor bool, t time.Time) bool {
	if !c.WithdrawnAt.IsZero() || (!c.ExpiresAt.IsZero() && !t.Before(c.ExpiresAt)) || (minor && !c.Guardian) {
		return false
	}
	return slices.Contains(c.Purposes, p)
}

// WatchEntry records why a subject is on a watchlist: who added them, why, and when the entry must be reviewed.
type WatchEntry struct {
	AddedBy string `json:"added_by"`
	// AddedByName is the name of the AddedBy key, filled in API responses for reviewers who may not list keys;
	// it is never stored.
	AddedByName string    `json:"added_by_name,omitempty"`
	Reason      string    `json:"reason"`
	ReviewAt    time.Time `json:"review_at"`
}

// Check enforces the rules every stored gallery follows, defaulting an empty purpose: the length limits
// (ErrTooLong), a known purpose, a legal basis for every watchlist and wherever consent is exempt, and no
// negative retention (ErrInvalid).
func (g *Gallery) Check() error {
	if g.Purpose == "" {
		g.Purpose = DefaultPurpose
	}
	if err := g.checkLimits(); err != nil {
		return err
	}
	switch {
	case !g.Purpose.Valid():
		return Userf(ErrInvalid, "unknown purpose %q: use one of %s", g.Purpose, purposeList())
	case g.Purpose == PurposeWatchlist && g.LegalBasis == "":
		return Userf(ErrInvalid, "a watchlist needs a recorded legal_basis (the law, warrant or decision that allows it)")
	case g.ConsentExempt && g.LegalBasis == "":
		return Userf(ErrInvalid, "a gallery may be exempt from consent only with a recorded legal_basis")
	case g.RetentionDays < 0 || g.RetentionDays > MaxRetentionDays:
		return Userf(ErrInvalid, "retention_days must be 0 (keep until erased) to %d (100 years)", MaxRetentionDays)
	}
	return nil
}

// AlertStatus is where a watchlist alert stands in human review.
type AlertStatus string

// The alert statuses.
const (
	AlertPending   AlertStatus = "pending"
	AlertConfirmed AlertStatus = "confirmed"
	AlertRejected  AlertStatus = "rejected"
)

// Alert is a match against a watchlist waiting for (or having had) a human decision. A match against a
// watchlist is never an action by itself: it becomes a pending alert, and people confirm or reject it. Alerts are
// grouped: while a subject keeps being seen on the same stream (or by search, StreamID ""), later sightings attach
// to its open alert instead of queueing new ones (see ReviewStore.RecordSighting). A rejection is remembered as
// "not this person": the best sighting's template is kept as a negative exemplar of the subject, and later
// matches that look more like it than like the subject's own photos are suppressed (recognize.Suppresses).
type Alert struct {
	ID        string `json:"id"`
	GalleryID string `json:"gallery_id"`
	SubjectID string `json:"subject_id"`
	StreamID  string `json:"stream_id,omitempty"`
	// EventID is the event of the best sighting (whose crop, when kept, is the alert's crop); Track its track.
	EventID string `json:"event_id,omitempty"`
	Track   string `json:"track,omitempty"`
	// Score is the best sighting's similarity to the subject.
	Score  float32     `json:"score"`
	Status AlertStatus `json:"status"`
	// Sightings counts the matches grouped into the alert, seen between FirstSeen and LastSeen.
	Sightings int       `json:"sightings"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	CreatedAt time.Time `json:"created_at"`
	// Probe is the best sighting's template, kept while the alert is pending (to remember a rejection), erased
	// once it is reviewed.
	Probe      []float32 `json:"-"`
	ReviewedBy string    `json:"reviewed_by,omitempty"`
	ReviewedAt time.Time `json:"reviewed_at,omitzero"`
	Note       string    `json:"note,omitempty"`
}

// DefaultAlertCooldown is how long after a subject's last sighting on a stream a new sighting still attaches to
// the open alert rather than raising a new one.
const DefaultAlertCooldown = 10 * time.Minute

// AlertFilter selects alerts; empty fields select all.
type AlertFilter struct {
	Status    AlertStatus
	GalleryID string
	StreamID  string
	SubjectID string
	Limit     int
}

// Negative is a remembered "not this person": the template of a face that was wrongly matched to the subject.
type Negative struct {
	ID        string    `json:"id"`
	GalleryID string    `json:"gallery_id"`
	SubjectID string    `json:"subject_id"`
	Template  []float32 `json:"-"`
	AlertID   string    `json:"alert_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// ReviewedBy (the key), Note and Score come from the rejected alert.
	ReviewedBy string  `json:"reviewed_by,omitempty"`
	Note       string  `json:"note,omitempty"`
	Score      float32 `json:"score"`
}

// Rejection is one reason a face was not enrolled (like Rekognition's UnindexedFaces reasons): a machine code
// ("too_small", "blurred", "pose_yaw"...) and a sentence that says what to fix.
type Rejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Suppression says that a match was stopped by a rejection ("not this person") of the subject, which one, and
// how the probe compared with the rejected capture and with the subject's own enrolled templates.
type Suppression struct {
	Subject string `json:"subject_id"`
	// Rejection is the ID of the negative exemplar (the rejected capture) the probe resembled, Alert the alert
	// whose rejection recorded it.
	Rejection string `json:"rejection_id"`
	Alert     string `json:"alert_id,omitempty"`
	// Score is the probe's similarity to the rejected capture; Enrolled its similarity to the subject's closest
	// enrolled template (the match that was suppressed).
	Score    float32 `json:"score"`
	Enrolled float32 `json:"enrolled_score"`
}

// ReviewStore keeps watchlist alerts and negative exemplars. The SQLite store implements it.
type ReviewStore interface {
	// RecordSighting records a watchlist match a (GalleryID, SubjectID, StreamID, Track, Score, Probe, LastSeen
	// set). It attaches to the newest alert of the same subject and stream that is pending or confirmed and was
	// last seen no longer than cooldown before a.LastSeen (incrementing its sightings; a better score replaces
	// score, track and, while pending, the probe), or else stores a new pending alert. Rejected alerts never
	// absorb sightings. On return *a is the stored alert; created says a new alert was made, best that this
	// sighting is now the alert's best (so its event should become the alert's EventID).
	RecordSighting(ctx context.Context, a *Alert, cooldown time.Duration) (created, best bool, err error)
	// SetAlertEvent records the event of the alert's best sighting.
	SetAlertEvent(ctx context.Context, id, eventID string) error
	Alert(ctx context.Context, id string) (*Alert, error)
	// Alerts lists alerts, newest sighting first.
	Alerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// ReviewAlert records a decision on a pending alert (ErrConflict when already reviewed) and erases its
	// probe template; a rejection stores it as a negative exemplar of the subject until negativeUntil, in the
	// same transaction.
	ReviewAlert(ctx context.Context, id string, status AlertStatus, by, note string, at, negativeUntil time.Time) (*Alert, error)
	// Negatives lists the unexpired negative exemplars of a subject at time t, oldest first.
	Negatives(ctx context.Context, galleryID, subjectID string, t time.Time) ([]Negative, error)
	// DeleteNegative undoes a rejection: the negative exemplar is erased (ErrNotFound when the subject has no
	// such exemplar).
	DeleteNegative(ctx context.Context, galleryID, subjectID, id string) error
	// OverdueWatch lists the subjects of watchlist galleries (one gallery, or all when galleryID is "") whose
	// watch entry's review date is before t, oldest review date first, at most limit.
	OverdueWatch(ctx context.Context, galleryID string, t time.Time, limit int) ([]Subject, error)
}
