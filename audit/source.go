package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxLineBytes bounds one line of a JSON-lines log read by FromJSONLines.
const MaxLineBytes = 1 << 20

// FromSlice returns a next function for Verify over entries, in the slice's order.
func FromSlice(entries []Entry) func() (*Entry, error) {
	i := 0
	return func() (*Entry, error) {
		if i >= len(entries) {
			return nil, nil
		}
		i++
		return &entries[i-1], nil
	}
}

// FromJSONLines returns a next function for Verify that reads one JSON-encoded Entry per line from r (the
// export format: json.Marshal of each entry, newline-terminated). Blank lines are skipped. A line that is not
// exactly one JSON object of Entry's fields (an unknown field, trailing data, a line over MaxLineBytes) is an
// error naming the line: fields the hash does not cover must not pass unnoticed in an audit export.
func FromJSONLines(r io.Reader) func() (*Entry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), MaxLineBytes)
	line := 0
	var failed error
	return func() (*Entry, error) {
		if failed != nil {
			return nil, failed
		}
		for sc.Scan() {
			line++
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			e, err := decodeLine(b)
			if err != nil {
				failed = fmt.Errorf("audit: line %d: %w", line, err)
				return nil, failed
			}
			return e, nil
		}
		if err := sc.Err(); err != nil {
			failed = fmt.Errorf("audit: after line %d: %w", line, err)
			return nil, failed
		}
		return nil, nil
	}
}

func decodeLine(b []byte) (*Entry, error) {
	if b[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return &e, nil
}
