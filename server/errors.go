package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/imgio"
)

// apiError is an error with an HTTP status and a machine-readable code, rendered as
// {"error": {"code": "...", "message": "...", "details": ...}}.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
	// cause is the internal error the answer stands for, when there is one: logged, never sent.
	cause error
}

// Error is the code and message, followed by the cause's chain (for the log).
func (e *apiError) Error() string {
	if e.cause != nil {
		return e.Code + ": " + e.Message + ": " + e.cause.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause.
func (e *apiError) Unwrap() error { return e.cause }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// wrapf is errf for an answer that stands for the internal error cause, which the log shows.
func wrapf(cause error, status int, code, format string, args ...any) *apiError {
	ae := errf(status, code, format, args...)
	ae.cause = cause
	return ae
}

// Error codes (api.Code*). docs/api.md lists them with their statuses.
const (
	codeBadRequest        = api.CodeBadRequest
	codeBadImage          = api.CodeBadImage
	codeEmptyImage        = api.CodeEmptyImage
	codeTruncatedImage    = api.CodeTruncatedImage
	codeUnsupported       = api.CodeUnsupported
	codeTooLarge          = api.CodeTooLarge
	codeNoFace            = api.CodeNoFace
	codeMultipleFaces     = api.CodeMultipleFaces
	codeQualityRejected   = api.CodeQualityRejected
	codeNotFound          = api.CodeNotFound
	codeConflict          = api.CodeConflict
	codeUnauthorized      = api.CodeUnauthorized
	codeForbidden         = api.CodeForbidden
	codeRateLimited       = api.CodeRateLimited
	codeTimeout           = api.CodeTimeout
	codeBusy              = api.CodeBusy
	codeMinFaceTooSmall   = api.CodeMinFaceTooSmall
	codeBadSource         = api.CodeBadSource
	codeConsentRequired   = api.CodeConsentRequired
	codeMinorWatchlist    = api.CodeMinorWatchlist
	codeInferenceDisabled = api.CodeInferenceOff
	codeInternal          = api.CodeInternal
	codeAuditUnavailable  = api.CodeAuditUnavailable
	codeStorageFull       = api.CodeStorageFull
	codeTooLong           = api.CodeTooLong
)

// toAPIError classifies any error: the one mapping from errors to HTTP statuses, codes and messages. A message is
// a sentence a client can act on; it never carries an internal chain ("sqlite: …", "imgio: …", file paths of the
// server). The domain's sentence travels as a facegate.UserError, an image's problem as imgio.Describe says it;
// anything else gets a fixed sentence of its kind. The wrapper that calls it logs the whole chain with the
// request id.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	for _, k := range imageKinds {
		if errors.Is(err, k.err) {
			msg, _ := imgio.Describe(err)
			if k.advice != "" {
				msg += ": " + k.advice
			}
			return errf(k.status, k.code, "%s", msg)
		}
	}
	user, hasUser := facegate.UserMessage(err)
	say := func(fallback string) string {
		if hasUser {
			return user
		}
		return fallback
	}
	var bad *facegate.BadRowsError
	switch {
	case errors.As(err, &bad):
		r := bad.Rows[0]
		return errf(http.StatusConflict, codeConflict, "the stored %s %s cannot be read (%s): delete it (and create it again) or restore it from a backup", r.Kind, r.ID, r.Reason)
	case errors.Is(err, engine.ErrMinFaceTooSmall):
		return errf(http.StatusBadRequest, codeMinFaceTooSmall, "min_face must be 0 (the default, %d pixels) or at least %d pixels: smaller faces cannot be found reliably", engine.DefaultMinFace, engine.MinFaceFloor)
	case errors.Is(err, engine.ErrNoFace):
		return errf(http.StatusUnprocessableEntity, codeNoFace, "%s", say("no face was found in the image: send a photo in which the face is clearly visible"))
	case errors.Is(err, facegate.ErrAuditUnavailable):
		return errf(http.StatusServiceUnavailable, codeAuditUnavailable, "the audit log cannot be written (is the server's disk full?), so the request was not served and nothing was changed; retry later, and tell the administrator")
	case errors.Is(err, facegate.ErrStorageFull):
		return errf(http.StatusInsufficientStorage, codeStorageFull, "the server's disk is full, so nothing was changed; retry once the administrator has freed space")
	case errors.Is(err, facegate.ErrNotFound):
		return errf(http.StatusNotFound, codeNotFound, "%s", say("what the request names does not exist: check the IDs and names in its path"))
	case errors.Is(err, facegate.ErrConsent):
		return errf(http.StatusUnprocessableEntity, codeConsentRequired, "enrolment refused: the subject has no consent in force that covers this gallery's purpose (a minor's must be given by a guardian); record one with POST .../subjects/{s}/consents, or send \"consent\" when creating the subject")
	case errors.Is(err, facegate.ErrMinorOnWatchlist):
		return errf(http.StatusUnprocessableEntity, codeMinorWatchlist, "%s", say("minors are never added to watchlists"))
	case errors.Is(err, facegate.ErrTooLong):
		return errf(http.StatusBadRequest, codeTooLong, "%s", say("a value of the request is over its length limit: shorten it"))
	case errors.Is(err, facegate.ErrPurposeNotCovered):
		return errf(http.StatusConflict, api.CodePurposeNotCovered, "%s", say("the gallery's subjects are not covered for the new purpose"))
	case errors.Is(err, facegate.ErrLastAdminKey):
		return errf(http.StatusConflict, api.CodeLastAdminKey, "%s", say("the last admin key in force cannot be revoked: create another admin key first"))
	case errors.Is(err, facegate.ErrInvalid):
		return errf(http.StatusBadRequest, codeBadRequest, "%s", say("the request breaks a rule of the gallery or subject it changes"))
	case errors.Is(err, facegate.ErrConflict):
		return errf(http.StatusConflict, codeConflict, "%s", say("the request conflicts with what is stored (a name or ID already taken, or a decision already made)"))
	case errors.Is(err, context.DeadlineExceeded):
		return errf(http.StatusServiceUnavailable, codeTimeout, "the request took longer than the server's request timeout")
	case errors.Is(err, context.Canceled):
		// The client went away (or the server is stopping): the work stopped with its context.
		return errf(http.StatusServiceUnavailable, codeTimeout, "the request was cancelled before it was done")
	}
	return errf(http.StatusInternalServerError, codeInternal, "internal error: the server log has the detail under this request's X-Request-Id")
}

// imageKinds maps each kind of unreadable image to its status, code and the advice that follows
// imgio.Describe's sentence.
var imageKinds = []struct {
	err    error
	status int
	code   string
	advice string
}{
	{imgio.ErrEmpty, http.StatusBadRequest, codeEmptyImage, "send the image file's contents"},
	{imgio.ErrTruncated, http.StatusBadRequest, codeTruncatedImage, "send the whole file"},
	{imgio.ErrCorrupt, http.StatusBadRequest, codeBadImage, "send the original file, or save it again with an image editor"},
	{imgio.ErrUnsupported, http.StatusUnsupportedMediaType, codeUnsupported, "send a JPEG, PNG, GIF, WebP, BMP or PNM file"},
	{imgio.ErrTooLarge, http.StatusRequestEntityTooLarge, codeTooLarge, ""},
}

// fail answers a request that failed with err: the client gets toAPIError's code and sentence, the log the whole
// error chain under the request id (an error for a 5xx, information for a refused request).
func (s *Server) fail(w http.ResponseWriter, id, route string, err error) {
	ae := toAPIError(err)
	// A message and an error may quote what the client sent (a 50 KB gallery name in the path, say): both are
	// cut, so that a key cannot write more to the log, or make the server send back more, than it is allowed to
	// make the server store.
	ae.Message = capText(ae.Message, maxMessage)
	logged := capText(err.Error(), maxLoggedError)
	if ae.Status >= 500 {
		s.log.Error("request failed", "id", id, "route", route, "status", ae.Status, "code", ae.Code, "err", logged)
	} else {
		s.log.Info("request refused", "id", id, "route", route, "status", ae.Status, "code", ae.Code, "err", logged)
	}
	writeError(w, ae)
}

// The longest error message a response carries, and the longest error text a log line carries, in bytes.
const (
	maxMessage     = 1 << 10
	maxLoggedError = 4 << 10
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err *apiError) {
	writeJSON(w, err.Status, map[string]*apiError{"error": err})
}
