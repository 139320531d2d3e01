// Package broken does not compile, for testsummary's test.
package broken

import "testing"

func TestBroken(t *testing.T) { undefinedCall() }
