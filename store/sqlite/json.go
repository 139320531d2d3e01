package sqlite

import (
	"encoding/json"
	"strconv"

	"github.com/facegate/facegate"
)

// Loading the search index decodes a Box and a Quality per face, and encoding/json's reflection is the largest
// part of that cost. decodeBox and decodeQuality parse the plain JSON that encoding/json writes for these types
// directly, and hand anything else (escapes, nulls, unknown keys, odd spacing) to json.Unmarshal, so the
// result is always what json.Unmarshal would give.

func decodeBox(b []byte, box *facegate.Box) error {
	if fastBox(b, box) {
		return nil
	}
	*box = facegate.Box{}
	return json.Unmarshal(b, box)
}

// fastBox decodes the compact JSON of a Box, reporting false when b is anything else.
func fastBox(b []byte, box *facegate.Box) bool {
	*box = facegate.Box{}
	s := jscan{b: b}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "x1":
			return s.float(&box.X1)
		case "y1":
			return s.float(&box.Y1)
		case "x2":
			return s.float(&box.X2)
		case "y2":
			return s.float(&box.Y2)
		}
		return false
	})
	return ok && s.end()
}

func decodeQuality(b []byte, q *facegate.Quality) error {
	if fastQuality(b, q) {
		return nil
	}
	*q = facegate.Quality{}
	return json.Unmarshal(b, q)
}

// fastQuality decodes the compact JSON of a Quality, reporting false when b is anything else.
func fastQuality(b []byte, q *facegate.Quality) bool {
	*q = facegate.Quality{}
	s := jscan{b: b}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "size":
			return s.float(&q.Size)
		case "inter_eye":
			return s.float(&q.InterEye)
		case "sharpness":
			return s.float(&q.Sharpness)
		case "brightness":
			return s.float(&q.Brightness)
		case "contrast":
			return s.float(&q.Contrast)
		case "left_eye_open":
			return s.float(&q.LeftEyeOpen)
		case "right_eye_open":
			return s.float(&q.RightEyeOpen)
		case "score":
			return s.float(&q.Score)
		case "pose":
			return s.object(func(key []byte) bool {
				switch string(key) {
				case "yaw":
					return s.float(&q.Pose.Yaw)
				case "pitch":
					return s.float(&q.Pose.Pitch)
				case "roll":
					return s.float(&q.Pose.Roll)
				}
				return false
			})
		case "issues":
			return s.strings(&q.Issues)
		}
		return false
	})
	return ok && s.end()
}

// jscan reads the compact JSON encoding/json writes: no whitespace, no escapes. Its methods report false on
// anything else, for the caller to fall back to encoding/json.
type jscan struct {
	b []byte
	i int
}

func (s *jscan) next(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jscan) end() bool { return s.i == len(s.b) }

// object reads {"key":value,...}, calling member to read each value.
func (s *jscan) object(member func(key []byte) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.next(':') || !member(key) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// str reads a string without escapes or control characters.
func (s *jscan) str() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\' || c < 0x20:
			return nil, false
		}
	}
	return nil, false
}

// float reads a number (JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?) as encoding/json does
// for a float32 field.
func (s *jscan) float(dst *float32) bool {
	start := s.i
	s.next('-')
	if !s.next('0') && !s.digits() {
		return false
	}
	if s.next('.') && !s.digits() {
		return false
	}
	if s.next('e') || s.next('E') {
		if !s.next('+') {
			s.next('-')
		}
		if !s.digits() {
			return false
		}
	}
	f, err := strconv.ParseFloat(string(s.b[start:s.i]), 32)
	if err != nil {
		return false
	}
	*dst = float32(f)
	return true
}

// digits reads one or more decimal digits.
func (s *jscan) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// strings reads an array of strings.
func (s *jscan) strings(dst *[]string) bool {
	if !s.next('[') {
		return false
	}
	out := []string{}
	if !s.next(']') {
		for {
			v, ok := s.str()
			if !ok {
				return false
			}
			out = append(out, string(v))
			if s.next(']') {
				break
			}
			if !s.next(',') {
				return false
			}
		}
	}
	*dst = out
	return true
}
