package facegate

import (
	"errors"
	"fmt"
	"strings"
)

// BadRow is a stored row that cannot be used: a template that does not open or decode (tampered, corrupt, in
// clear in a sealed store), a stream configuration that does not parse.
type BadRow struct {
	Kind   string `json:"kind"`   // "face" or "stream"
	ID     string `json:"id"`     // the row's id
	Reason string `json:"reason"` // what is wrong, in plain words
	Err    error  `json:"-"`      // the cause, for the log
}

// BadRowsError is returned by Store.EachTemplate and Store.Streams after every readable row has been delivered,
// when some rows could not be read: the caller may go on without them (quarantine) or treat it as an error.
type BadRowsError struct {
	Rows []BadRow
}

// Unwrap gives the rows' causes, so errors.Is and errors.As see why they cannot be read.
func (e *BadRowsError) Unwrap() []error {
	var errs []error
	for _, r := range e.Rows {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	return errs
}

func (e *BadRowsError) Error() string {
	ids := make([]string, 0, min(len(e.Rows), 5))
	for i, r := range e.Rows {
		if i == 5 {
			ids = append(ids, "…")
			break
		}
		ids = append(ids, r.Kind+" "+r.ID+": "+r.Reason)
	}
	return fmt.Sprintf("%d stored rows cannot be read (%s)", len(e.Rows), strings.Join(ids, "; "))
}

// Quarantined splits what a store returned with a *BadRowsError: the bad rows, and nil in place of err, so a
// caller can go on with the readable rows. Any other error is returned as it is, with no rows.
func Quarantined(err error) ([]BadRow, error) {
	var bad *BadRowsError
	if errors.As(err, &bad) {
		return bad.Rows, nil
	}
	return nil, err
}
