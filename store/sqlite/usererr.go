package sqlite

import "github.com/facegate/facegate"

// The errors below carry the sentence a client is shown (facegate.UserError) and wrap the sentinel that
// classifies them; the store's own "sqlite: …" context is added around them by the callers, for the log.

// notFound is ErrNotFound for the kind of thing asked for: `subject "sub_1" not found`.
func notFound(kind, id string) error {
	return facegate.Userf(facegate.ErrNotFound, "%s %q not found", kind, id)
}

// conflict is ErrConflict with a sentence.
func conflict(format string, args ...any) error {
	return facegate.Userf(facegate.ErrConflict, format, args...)
}

// invalid is ErrInvalid with a sentence.
func invalid(format string, args ...any) error {
	return facegate.Userf(facegate.ErrInvalid, format, args...)
}
