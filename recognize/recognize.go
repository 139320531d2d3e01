// Package recognize owns facegate's decisions about faces: who a probe is (1:N identification against a
// gallery, with an honest "unknown"), whether it is a claimed person (1:1 verification), whether a face may be
// enrolled (the quality gate and the duplicate check), how rejected watchlist matches are remembered and when they
// suppress a later match, and when a watchlist match raises an alert or joins an open one. The HTTP API, video
// streams and the CLI all decide through it, so the rules live in one place.
//
// A Recognizer holds the in-memory index (the templates to search) and the narrow part of the store it needs
// (Store). It never decodes images or runs models: callers hand it templates and faces made by the engine.
package recognize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/index"
)

// Store is the part of the system of record the decisions read and write: subjects' names and enrolled faces,
// the negative exemplars that rejections left, and watchlist alerts.
type Store interface {
	Subject(ctx context.Context, galleryID, id string) (*facegate.Subject, error)
	Faces(ctx context.Context, galleryID, subjectID string) ([]facegate.FaceRecord, error)
	Negatives(ctx context.Context, galleryID, subjectID string, t time.Time) ([]facegate.Negative, error)
	RecordSighting(ctx context.Context, a *facegate.Alert, cooldown time.Duration) (created, best bool, err error)
}

// Config configures a Recognizer.
type Config struct {
	Index *index.Index
	Store Store
	// Cooldown groups watchlist sightings into one alert (default facegate.DefaultAlertCooldown).
	Cooldown time.Duration
	// Observe, when set, is told of each decision worth counting: "suppressed", "alert_new", "alert_grouped",
	// with the gallery and where the probe came from ("search", "verify", "stream").
	Observe func(what, galleryID, source string)
	Logger  *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Recognizer makes the decisions. It is safe for concurrent use.
type Recognizer struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and applies its defaults.
func New(cfg Config) (*Recognizer, error) {
	if cfg.Index == nil || cfg.Store == nil {
		return nil, errors.New("recognize: Index and Store are required")
	}
	if cfg.Cooldown <= 0 {
		cfg.Cooldown = facegate.DefaultAlertCooldown
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string, string, string) {}
	}
	return &Recognizer{cfg: cfg, log: cfg.Logger}, nil
}

// Candidate is one subject a probe may be.
type Candidate struct {
	Subject     string
	Face        string // the subject's best-matching enrolled face
	Score       float32
	ExternalID  string
	DisplayName string
	// Match: the score clears the gallery's threshold and no rejection suppressed it.
	Match bool
	// Suppressed names the rejection that stopped a match that cleared the threshold.
	Suppressed *facegate.Suppression
}

// Identification is the answer to "who is this?": candidates best first, and the match (the best candidate
// that clears the threshold and was not suppressed), or nil for unknown.
type Identification struct {
	Candidates []Candidate
	Match      *Candidate
}

// Source says where a probe came from, for metrics and logs.
type Source string

// The sources.
const (
	FromSearch Source = "search"
	FromVerify Source = "verify"
	FromStream Source = "stream"
)

// Identify searches g for the k subjects most like probe and decides. In a watchlist gallery a candidate that
// clears the threshold is checked against the subject's rejections (Suppresses).
func (r *Recognizer) Identify(ctx context.Context, g *facegate.Gallery, probe []float32, k int, src Source) (Identification, error) {
	var out Identification
	if err := r.checkTemplate(probe); err != nil {
		return out, err
	}
	hits := r.cfg.Index.Search(g.ID, probe, k)
	out.Candidates = make([]Candidate, 0, len(hits))
	for _, h := range hits {
		c := Candidate{Subject: h.Subject, Face: h.Face, Score: h.Score, Match: float64(h.Score) >= g.Threshold}
		if c.Match {
			sup, err := r.suppressed(ctx, g, h.Subject, probe, h.Score, src)
			if err != nil {
				return out, err
			}
			if sup != nil {
				c.Match, c.Suppressed = false, sup
			}
		}
		if sub, err := r.cfg.Store.Subject(ctx, g.ID, h.Subject); err == nil {
			c.ExternalID, c.DisplayName = sub.ExternalID, sub.DisplayName
		} else if !errors.Is(err, facegate.ErrNotFound) {
			return out, fmt.Errorf("recognize: %w", err)
		}
		out.Candidates = append(out.Candidates, c)
	}
	for i := range out.Candidates {
		if out.Candidates[i].Match {
			out.Match = &out.Candidates[i]
			break
		}
	}
	return out, nil
}

// Verification is the answer to "is this subject?".
type Verification struct {
	Score      float32
	Face       string // the subject's enrolled face that scored best
	Match      bool
	Suppressed *facegate.Suppression
}

// Verify compares probe with every enrolled face of subject and decides with g's threshold (and, in a watchlist,
// the subject's rejections). A subject without enrolled faces is ErrNoTemplates.
func (r *Recognizer) Verify(ctx context.Context, g *facegate.Gallery, subject string, probe []float32) (Verification, error) {
	if err := r.checkTemplate(probe); err != nil {
		return Verification{}, err
	}
	faces, err := r.cfg.Store.Faces(ctx, g.ID, subject)
	bad, err := facegate.Quarantined(err) // an unreadable face cannot take part: the others decide
	if err != nil {
		return Verification{}, fmt.Errorf("recognize: %w", err)
	}
	for _, b := range bad {
		r.log.Warn("verification without an unreadable face", "face", b.ID, "reason", b.Reason)
	}
	if len(faces) == 0 {
		return Verification{}, ErrNoTemplates
	}
	v := Verification{Score: -2}
	for _, f := range faces {
		if s := facegate.Similarity(probe, f.Template); s > v.Score {
			v.Score, v.Face = s, f.ID
		}
	}
	v.Match = float64(v.Score) >= g.Threshold
	if v.Match {
		if v.Suppressed, err = r.suppressed(ctx, g, subject, probe, v.Score, FromVerify); err != nil {
			return v, err
		}
		v.Match = v.Suppressed == nil
	}
	return v, nil
}

// ErrNoTemplates: the subject has no enrolled face to verify against.
var ErrNoTemplates = errors.New("recognize: the subject has no enrolled faces")

// ErrBadTemplate: a probe or sighting that is not a finite template of the index's length. The engine never
// makes one; a corrupt or foreign vector would otherwise score +Inf or NaN, match anybody, and store an alert
// whose score JSON cannot carry.
var ErrBadTemplate = errors.New("recognize: the template is not a finite vector of the index's length")

// checkTemplate refuses a vector that is not a finite template of the index's length.
func (r *Recognizer) checkTemplate(v []float32) error {
	if err := r.cfg.Index.Check(v); err != nil {
		return fmt.Errorf("%w: %w", ErrBadTemplate, err)
	}
	return nil
}

// suppressed applies the scoped rejection rule to a match of subject with enrolled score.
func (r *Recognizer) suppressed(ctx context.Context, g *facegate.Gallery, subject string, probe []float32, enrolled float32, src Source) (*facegate.Suppression, error) {
	if g.Purpose != facegate.PurposeWatchlist {
		return nil, nil // rejections come from watchlist alerts only
	}
	negs, err := r.cfg.Store.Negatives(ctx, g.ID, subject, r.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("recognize: reading rejections: %w", err)
	}
	sup := Suppresses(probe, enrolled, negs, g.Threshold, DefaultSuppressMargin)
	if sup != nil {
		r.cfg.Observe("suppressed", g.ID, string(src))
		r.log.Info("watchlist match suppressed: closer to a rejected capture than to the subject's photos",
			"gallery", g.ID, "subject", subject, "rejection", sup.Rejection, "score", sup.Score, "enrolled", enrolled, "source", src)
	}
	return sup, nil
}

// Duplicates lists the other subjects of g (not except) that a face to be enrolled already matches: a new
// photo that clears the gallery's threshold against someone else is probably that person, or a mix-up.
func (r *Recognizer) Duplicates(ctx context.Context, g *facegate.Gallery, tmpl []float32, except string) ([]Candidate, error) {
	if err := r.checkTemplate(tmpl); err != nil {
		return nil, err
	}
	var out []Candidate
	for _, h := range r.cfg.Index.Search(g.ID, tmpl, 5) {
		if h.Subject == except || float64(h.Score) < g.Threshold {
			continue
		}
		c := Candidate{Subject: h.Subject, Face: h.Face, Score: h.Score, Match: true}
		if sub, err := r.cfg.Store.Subject(ctx, g.ID, h.Subject); err == nil {
			c.ExternalID, c.DisplayName = sub.ExternalID, sub.DisplayName
		} else if !errors.Is(err, facegate.ErrNotFound) {
			return nil, fmt.Errorf("recognize: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Sighting is a match to report: who, where and how well.
type Sighting struct {
	Match    Candidate
	Probe    []float32
	StreamID string // "" for a search
	Track    string
	At       time.Time
}

// AlertOutcome is what a sighting did to the review queue.
type AlertOutcome struct {
	Alert *facegate.Alert
	// New: the sighting raised a new pending alert; otherwise it joined an open one. Best: it is now the alert's
	// best sighting (its event should be recorded as the alert's event, its crop is the alert's crop).
	New, Best bool
}

// Alert turns a watchlist match into an alert for people to review: a new pending alert, or a further sighting
// of the subject's open alert on the same stream within the cool-down. Outside watchlists it does nothing and
// returns a nil outcome: a match there is a decision, not an alert.
func (r *Recognizer) Alert(ctx context.Context, g *facegate.Gallery, s Sighting) (*AlertOutcome, error) {
	if g.Purpose != facegate.PurposeWatchlist || !s.Match.Match {
		return nil, nil
	}
	if sc := s.Match.Score; sc-sc != 0 || (len(s.Probe) > 0 && r.checkTemplate(s.Probe) != nil) {
		return nil, ErrBadTemplate
	}
	if s.At.IsZero() {
		s.At = r.cfg.Now()
	}
	a := &facegate.Alert{GalleryID: g.ID, SubjectID: s.Match.Subject, StreamID: s.StreamID, Track: s.Track, Score: s.Match.Score,
		Probe: s.Probe, LastSeen: s.At.UTC()}
	created, best, err := r.cfg.Store.RecordSighting(ctx, a, r.cfg.Cooldown)
	if err != nil {
		return nil, fmt.Errorf("recognize: %w", err)
	}
	src := string(FromStream)
	if s.StreamID == "" {
		src = string(FromSearch)
	}
	if created {
		r.cfg.Observe("alert_new", g.ID, src)
	} else {
		r.cfg.Observe("alert_grouped", g.ID, src)
	}
	return &AlertOutcome{Alert: a, New: created, Best: best}, nil
}
