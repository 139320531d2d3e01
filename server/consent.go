package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/protect"
)

// keyID is the ID of the API key that made the request ("" for routes without a key).
func keyID(r *http.Request) string {
	if k, ok := r.Context().Value(keyCtx).(*facegate.APIKey); ok {
		return k.ID
	}
	return ""
}

// consentFrom turns a consent request into a record for gallery g, recorded by key by.
func consentFrom(b *api.ConsentRequest, g *facegate.Gallery, by string) (*facegate.Consent, error) {
	c := &facegate.Consent{GivenBy: b.GivenBy, Guardian: b.Guardian, Purposes: b.Purposes, Evidence: b.Evidence,
		GivenAt: b.GivenAt.UTC(), ExpiresAt: b.ExpiresAt.UTC(), RecordedBy: by}
	if b.GivenAt.IsZero() {
		c.GivenAt = time.Now().UTC()
	}
	if b.ExpiresAt.IsZero() {
		c.ExpiresAt = time.Time{}
	}
	if len(c.Purposes) == 0 {
		c.Purposes = []facegate.Purpose{g.Purpose}
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	return c, nil
}

// addConsent is POST .../subjects/{s}/consents.
func (s *Server) addConsent(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	var b api.ConsentRequest
	if err := decodeJSON(w, r, s.cfg.MaxBodyBytes, &b); err != nil {
		return err
	}
	c, err := consentFrom(&b, g, keyID(r))
	if err != nil {
		return err
	}
	c.GalleryID, c.SubjectID = g.ID, sub.ID
	if err := s.cfg.Store.AddConsent(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}

// listConsents is GET .../subjects/{s}/consents: every record, withdrawn ones included.
func (s *Server) listConsents(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	cs, err := s.cfg.Store.Consents(r.Context(), g.ID, sub.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.ConsentList{Consents: cs})
	return nil
}

// withdrawConsent is DELETE .../subjects/{s}/consents/{c}: the consent is marked withdrawn and, when nothing
// else allows the subject's faces any more, they are erased (store and index) in the same request.
func (s *Server) withdrawConsent(w http.ResponseWriter, r *http.Request) error {
	g, sub, err := s.subject(r)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	erased, err := s.cfg.Store.WithdrawConsent(r.Context(), g.ID, sub.ID, r.PathValue("c"), time.Now())
	if err != nil {
		return err
	}
	for _, id := range erased {
		s.cfg.Index.Remove(id)
	}
	if len(erased) > 0 {
		s.forgetEvents(g.ID, sub.ID)
		s.checkpoint(r.Context())
	}
	cs, err := s.cfg.Store.Consents(r.Context(), g.ID, sub.ID)
	if err != nil {
		return err
	}
	note(r, "erased_faces", strconv.Itoa(len(erased)))
	out := api.ConsentWithdrawn{ErasedFaces: len(erased)}
	for _, c := range cs {
		if c.ID == r.PathValue("c") {
			out.Consent = c
		}
	}
	if out.Consent.ID == "" {
		return errors.New("server: withdrawn consent vanished")
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// inferencesAllowed refuses the sensitive inferences (age, gender, expression) the deployment has not switched
// on (Config.Inferences). Liveness is a safeguard, not an inference about the person: always allowed. There is
// no ethnicity or race inference at all (docs/governance.md says why).
func (s *Server) inferencesAllowed(attrs []engine.Attribute) error {
	for _, a := range attrs {
		if a == engine.AttrLiveness || slices.Contains(s.enabledInferences(), a) {
			continue
		}
		return errf(http.StatusForbidden, codeInferenceDisabled,
			"%s inference is off in this deployment (an administrator may enable it with 'facegate serve --enable-inferences %s')", a, a)
	}
	return nil
}

// forgetEvents removes the events that name a subject (or any subject of the gallery, when subject is "") from
// the replay ring and from the webhook queues: after an erasure no event about the person can be replayed or
// delivered any more.
func (s *Server) forgetEvents(gallery, subject string) {
	n := s.bus.Remove(func(e *facegate.Event) bool {
		return e.Match != nil && e.Match.Gallery == gallery && (subject == "" || e.Match.Subject == subject)
	})
	if subject != "" {
		n += s.hooks.DropSubject(gallery, subject)
	}
	if n > 0 {
		s.log.Info("events about an erased subject forgotten", "gallery", gallery, "subject", subject, "events", n)
	}
}

// protectTemplate applies the deployment's secret transform (Config.Transform) to a template from the engine:
// every template the server stores or searches with lives in the transformed space, so templates leaked from
// two deployments (or from before and after a change of secret) cannot be matched against each other.
func (s *Server) protectTemplate(t []float32) []float32 {
	if s.cfg.Transform == nil || len(t) == 0 {
		return t
	}
	return s.cfg.Transform.Apply(t)
}

// transformSetting is the store setting that records the fingerprint of the transform the templates are under.
const transformSetting = "template_transform"

// checkTransform refuses to start with a template transform other than the one the stored templates were made
// with (searching them would silently find nobody), and records the transform of a store without templates.
func checkTransform(ctx context.Context, st facegate.Store, t *protect.Transform) error {
	want := t.Fingerprint() // "" for nil
	have, err := st.Setting(ctx, transformSetting)
	if err != nil {
		return err
	}
	if have == want {
		return nil
	}
	found := false
	err = st.EachTemplate(ctx, func(*facegate.FaceRecord) error { found = true; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if found {
		return fmt.Errorf("server: the stored templates were made with template transform %q but this server runs with %q: use the same --template-secret, or re-enrol", orNone(have), orNone(want))
	}
	return st.SetSetting(ctx, transformSetting, want)
}

var errStop = errors.New("stop")

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
