package facegate

import (
	"errors"
	"fmt"
	"strings"
)

// UserError is an error with a sentence for the person who caused it: Msg says, in plain words and without any
// package prefix, what is wrong and what to do ("a watchlist entry needs a reason and a review date"). Err is what
// it wraps, usually a sentinel that classifies it (ErrInvalid, ErrNotFound, ErrConflict) or the underlying cause,
// so errors.Is keeps working. Packages wrap a UserError with their prefixes as usual ("sqlite: create subject
// …: %w"); the edges (HTTP API, CLI) show UserMessage and log the whole chain.
type UserError struct {
	Msg string
	Err error
}

// Userf returns a UserError wrapping err (may be nil) whose message is the formatted sentence.
func Userf(err error, format string, args ...any) *UserError {
	return &UserError{Msg: fmt.Sprintf(format, args...), Err: err}
}

// Error is the sentence followed by the wrapped error's text, as a %w chain would read, or the sentence alone
// when it already ends with that text (`gallery "x" not found` wrapping ErrNotFound).
func (e *UserError) Error() string {
	if e.Err == nil || strings.HasSuffix(e.Msg, e.Err.Error()) {
		return e.Msg
	}
	return e.Msg + ": " + e.Err.Error()
}

// Unwrap returns the wrapped error.
func (e *UserError) Unwrap() error { return e.Err }

// UserMessage returns the sentence of the outermost UserError in err's chain, and whether there is one.
func UserMessage(err error) (string, bool) {
	var ue *UserError
	if errors.As(err, &ue) {
		return ue.Msg, true
	}
	return "", false
}
