package facegate

import (
	"encoding/json"
	"errors"
)

// The length limits of what people name, identify and describe, in one place. Lengths are bytes of UTF-8 text
// (a metadata limit counts the JSON the metadata is stored as). The HTTP API refuses a longer value with 400
// too_long before it does any work, and the store refuses it too (for the CLI and every other caller), so nothing
// over a limit is ever stored. docs/api.md lists them.
const (
	// MaxNameLen bounds the name of a gallery, an API key and a stream.
	MaxNameLen = 200
	// MaxDescriptionLen bounds a gallery's description.
	MaxDescriptionLen = 2000
	// MaxLegalBasisLen bounds a gallery's legal_basis.
	MaxLegalBasisLen = 2000
	// MaxExternalIDLen bounds a subject's external_id.
	MaxExternalIDLen = 256
	// MaxDisplayNameLen bounds a subject's display_name.
	MaxDisplayNameLen = 200
	// MaxMetadataBytes bounds a subject's metadata, measured as the JSON object it is stored as.
	MaxMetadataBytes = 16 << 10
	// MaxConsentFieldLen bounds a consent's given_by and evidence.
	MaxConsentFieldLen = 1000
	// MaxWatchReasonLen bounds a watch entry's reason.
	MaxWatchReasonLen = 2000
	// MaxNoteLen bounds a reviewer's note on an alert.
	MaxNoteLen = 2000
	// MaxSourceLen bounds a stream's source (a path or URL).
	MaxSourceLen = 2048
	// MaxJSONDepth bounds the nesting of objects and arrays in a JSON request body or field.
	MaxJSONDepth = 32
	// MaxRetentionDays bounds a gallery's retention_days (100 years): a larger number would overflow the
	// retention sweep's time arithmetic, and nothing would ever be deleted.
	MaxRetentionDays = 36500
	// MaxCropRetentionHours bounds a stream's crop_retention_hours (10 years).
	MaxCropRetentionHours = 87600
	// MaxZones and MaxLines bound a stream's zones and counting lines; MaxZonePoints bounds a zone's polygon.
	// Each analysed frame tests every track against each of them.
	MaxZones      = 16
	MaxLines      = 16
	MaxZonePoints = 64
)

// ErrTooLong: a value is over one of the limits above (the HTTP API answers 400 too_long).
var ErrTooLong = errors.New("too long")

// CheckLen returns a UserError wrapping ErrTooLong when value is longer than limit bytes; field names the value
// as the API calls it ("display_name").
func CheckLen(field, value string, limit int) error {
	if len(value) > limit {
		return Userf(ErrTooLong, "%s is %d bytes long; the limit is %d bytes: shorten it", field, len(value), limit)
	}
	return nil
}

// checkLens applies CheckLen to (field, value, limit) triples in order and returns the first error.
func checkLens(checks ...lenCheck) error {
	for _, c := range checks {
		if err := CheckLen(c.field, c.value, c.limit); err != nil {
			return err
		}
	}
	return nil
}

type lenCheck struct {
	field, value string
	limit        int
}

// CheckLimits reports the first of the subject's fields over its length limit (ErrTooLong): external_id,
// display_name, metadata (as JSON) and the watch entry's reason.
func (s *Subject) CheckLimits() error {
	checks := []lenCheck{{"external_id", s.ExternalID, MaxExternalIDLen}, {"display_name", s.DisplayName, MaxDisplayNameLen}}
	if s.Watch != nil {
		checks = append(checks, lenCheck{"watch.reason", s.Watch.Reason, MaxWatchReasonLen})
	}
	if err := checkLens(checks...); err != nil {
		return err
	}
	if len(s.Metadata) > 0 {
		b, err := json.Marshal(s.Metadata)
		if err != nil {
			return Userf(ErrInvalid, "metadata cannot be encoded as JSON")
		}
		if len(b) > MaxMetadataBytes {
			return Userf(ErrTooLong, "metadata is %d bytes of JSON; the limit is %d bytes: keep large documents elsewhere and put a reference here", len(b), MaxMetadataBytes)
		}
	}
	return nil
}

// checkLimits reports the first of the gallery's fields over its length limit.
func (g *Gallery) checkLimits() error {
	return checkLens(lenCheck{"name", g.Name, MaxNameLen}, lenCheck{"description", g.Description, MaxDescriptionLen},
		lenCheck{"legal_basis", g.LegalBasis, MaxLegalBasisLen})
}

// checkLimits reports the first of the consent's fields over its length limit; purposes may name each purpose
// once, so their list is never longer than Purposes.
func (c *Consent) checkLimits() error {
	if len(c.Purposes) > len(Purposes) {
		return Userf(ErrTooLong, "purposes lists %d entries; there are %d purposes: name each at most once", len(c.Purposes), len(Purposes))
	}
	return checkLens(lenCheck{"given_by", c.GivenBy, MaxConsentFieldLen}, lenCheck{"evidence", c.Evidence, MaxConsentFieldLen})
}

// CheckLimits reports whether the key's name is over its length limit.
func (k *APIKey) CheckLimits() error { return CheckLen("name", k.Name, MaxNameLen) }

// CheckLimits reports the first of the stream's name and source over its length limit, then the first problem
// of its zones and lines (CheckGeometry).
func (s *Stream) CheckLimits() error {
	if err := checkLens(lenCheck{"name", s.Name, MaxNameLen}, lenCheck{"source", s.Source, MaxSourceLen}); err != nil {
		return err
	}
	return s.CheckGeometry()
}
