package facegate_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/facegate/facegate"
)

func TestUserError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		sentinel error
		text     string // Error(), for logs
		msg      string // UserMessage, for people
	}{
		{"wrapped by a store", fmt.Errorf("sqlite: create subject s1: %w", facegate.Userf(facegate.ErrInvalid, "a watchlist entry needs a reason")),
			facegate.ErrInvalid, "sqlite: create subject s1: a watchlist entry needs a reason: invalid", "a watchlist entry needs a reason"},
		{"sentence already says it", fmt.Errorf("sqlite: %w", facegate.Userf(facegate.ErrNotFound, "gallery %q not found", "x")),
			facegate.ErrNotFound, `sqlite: gallery "x" not found`, `gallery "x" not found`},
		{"no wrapped error", facegate.Userf(nil, "empty source"), nil, "empty source", "empty source"},
		{"outermost sentence wins", facegate.Userf(facegate.Userf(facegate.ErrConflict, "inner"), "outer"),
			facegate.ErrConflict, "outer: inner: conflict", "outer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.sentinel != nil && !errors.Is(tt.err, tt.sentinel) {
				t.Errorf("%v does not wrap %v", tt.err, tt.sentinel)
			}
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("Error() = %q, want %q", got, tt.text)
			}
			if got, ok := facegate.UserMessage(tt.err); !ok || got != tt.msg {
				t.Errorf("UserMessage = %q, %v; want %q", got, ok, tt.msg)
			}
		})
	}
	if _, ok := facegate.UserMessage(fmt.Errorf("sqlite: %w", facegate.ErrNotFound)); ok {
		t.Error("a bare sentinel has a user message")
	}
}
