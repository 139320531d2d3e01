// Package needs is run by testenv's test, with and without CI=true.
package needs

import (
	"errors"
	"testing"

	"github.com/facegate/facegate/internal/testutil/testenv"
)

func TestMissing(t *testing.T) {
	testenv.Missing(t, "widget %d absent (install it)", 7)
	t.Log("after Missing")
}

func TestNeed(t *testing.T) {
	testenv.Need(t, "gadget (install it)", nil)
	t.Log("after Need with no error")
	testenv.Need(t, "gadget (install it)", errors.New("not found"))
	t.Log("after Need with an error")
}

func TestMissingPart(t *testing.T) {
	testenv.MissingPart(t, "part needs sprocket")
	t.Log("after MissingPart")
}
