package server

import (
	"io"
	"net/http"

	"github.com/facegate/facegate"
)

// depthScanner follows the nesting of objects and arrays in JSON text as it goes by, outside strings, and
// refuses text that nests deeper than facegate.MaxJSONDepth: a body such as 10,000 nested objects is refused
// (400 too_long) after at most MaxJSONDepth+1 brackets, whatever the decoder would have made of it.
type depthScanner struct {
	depth            int
	inString, escape bool
}

// scan follows p and returns the too_long answer once the nesting is too deep.
func (d *depthScanner) scan(p []byte) error {
	for _, c := range p {
		switch {
		case d.escape:
			d.escape = false
		case d.inString:
			switch c {
			case '\\':
				d.escape = true
			case '"':
				d.inString = false
			}
		case c == '"':
			d.inString = true
		case c == '{' || c == '[':
			d.depth++
			if d.depth > facegate.MaxJSONDepth {
				return errf(http.StatusBadRequest, codeTooLong, "the JSON nests objects and arrays more than %d deep: send a flatter document", facegate.MaxJSONDepth)
			}
		case c == '}' || c == ']':
			d.depth--
		}
	}
	return nil
}

// depthReader is a reader of JSON text that fails (with scan's error) once the text nests too deep.
type depthReader struct {
	r io.Reader
	d depthScanner
}

func limitDepth(r io.Reader) io.Reader { return &depthReader{r: r} }

func (dr *depthReader) Read(p []byte) (int, error) {
	n, err := dr.r.Read(p)
	if serr := dr.d.scan(p[:n]); serr != nil {
		return n, serr
	}
	return n, err
}

// checkDepth refuses JSON text (a request field) that nests too deep.
func checkDepth(raw []byte) error {
	var d depthScanner
	return d.scan(raw)
}
