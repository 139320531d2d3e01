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
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
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
	codeBadSource         = api.CodeBadSource
	codeConsentRequired   = api.CodeConsentRequired
	codeMinorWatchlist    = api.CodeMinorWatchlist
	codeInferenceDisabled = api.CodeInferenceOff
	codeInternal          = api.CodeInternal
)

// toAPIError classifies any error.
func toAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, imgio.ErrEmpty):
		return errf(http.StatusBadRequest, codeEmptyImage, "%v", err)
	case errors.Is(err, imgio.ErrTruncated):
		return errf(http.StatusBadRequest, codeTruncatedImage, "%v", err)
	case errors.Is(err, imgio.ErrCorrupt):
		return errf(http.StatusBadRequest, codeBadImage, "%v", err)
	case errors.Is(err, imgio.ErrUnsupported):
		return errf(http.StatusUnsupportedMediaType, codeUnsupported, "%v", err)
	case errors.Is(err, imgio.ErrTooLarge):
		return errf(http.StatusRequestEntityTooLarge, codeTooLarge, "%v", err)
	case errors.Is(err, engine.ErrNoFace):
		return errf(http.StatusUnprocessableEntity, codeNoFace, "%v", err)
	case errors.Is(err, facegate.ErrNotFound):
		return errf(http.StatusNotFound, codeNotFound, "%v", err)
	case errors.Is(err, facegate.ErrConsent):
		return errf(http.StatusUnprocessableEntity, codeConsentRequired, "enrolment refused: the subject has no consent in force that covers this gallery's purpose (a minor's must be given by a guardian); record one with POST .../subjects/{s}/consents, or send \"consent\" when creating the subject")
	case errors.Is(err, facegate.ErrMinorOnWatchlist):
		return errf(http.StatusUnprocessableEntity, codeMinorWatchlist, "minors are never added to watchlists")
	case errors.Is(err, facegate.ErrInvalid):
		return errf(http.StatusBadRequest, codeBadRequest, "%v", err)
	case errors.Is(err, facegate.ErrConflict):
		return errf(http.StatusConflict, codeConflict, "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return errf(http.StatusServiceUnavailable, codeTimeout, "the request took longer than the server's request timeout")
	}
	return errf(http.StatusInternalServerError, codeInternal, "internal error")
}

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
