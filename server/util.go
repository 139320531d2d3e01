package server

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/facegate/facegate/internal/modelpack"
)

// decodeJSON reads a JSON object body (an empty body is an empty object) into v, rejecting unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(limitDepth(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err.Error() == "EOF" {
			return nil
		}
		return bodyError(err)
	}
	return nil
}

func durationNS(ns int64) time.Duration { return time.Duration(ns) }

func packThreshold(fmr float64) (float64, bool) { return modelpack.Manifest().ThresholdFor(fmr) }
