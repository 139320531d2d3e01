package eval

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Pair is one labelled verification pair.
type Pair struct {
	// A and B are the two images, as written in the pair list. For LFW files
	// they are slash-separated paths relative to the image root, of the form
	// "Name/Name_0001.jpg"; use filepath.FromSlash before opening them.
	A, B string
	// Same reports whether both images show the same person.
	Same bool
	// Fold is the 0-based cross-validation fold the pair belongs to, or -1
	// when the pair list defines no folds.
	Fold int
}

// ParseError is the error returned by the pair-list parsers for malformed
// input. Use errors.As to get at the line number.
type ParseError struct {
	// Format names the layout being parsed: "lfw pairs" or "csv pairs".
	Format string
	// Line is the 1-based line number the problem was found on, or 0 when the
	// problem concerns the file as a whole (for example a missing pair).
	Line int
	// Err describes the problem.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("eval: %s: line %d: %v", e.Format, e.Line, e.Err)
	}
	return fmt.Sprintf("eval: %s: %v", e.Format, e.Err)
}

// Unwrap returns the underlying error.
func (e *ParseError) Unwrap() error { return e.Err }

const (
	lfwFormat = "lfw pairs"
	csvFormat = "csv pairs"

	// maxPairs bounds the number of pairs an LFW header may announce, so
	// that a corrupt header cannot overflow the arithmetic below.
	maxPairs = 1 << 30
	// maxLine is the longest line the LFW parser accepts.
	maxLine = 1 << 20
)

func lfwErr(line int, format string, args ...any) error {
	return &ParseError{Format: lfwFormat, Line: line, Err: fmt.Errorf(format, args...)}
}

func csvErr(line int, format string, args ...any) error {
	return &ParseError{Format: csvFormat, Line: line, Err: fmt.Errorf(format, args...)}
}

// stripBOM returns a reader that skips a leading UTF-8 byte order mark.
func stripBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	return br
}

// ParseLFWPairs reads a pair list in the layout of the LFW pairs.txt files.
//
// The first non-blank line is the header. In the 10-fold View 2 file
// (pairs.txt) it is "F<TAB>N": F folds, each made of N matched pairs followed
// by N mismatched pairs; the pairs of the i-th fold get Fold i. The View 1
// files (pairsDevTrain.txt, pairsDevTest.txt) have a header that is the single
// number N, followed by N matched then N mismatched pairs; they define no
// folds, so every pair gets Fold -1.
//
// A matched pair is "Name n1 n2", a mismatched pair "Name1 n1 Name2 n2";
// fields are separated by tabs or spaces. The image paths are built as
// "Name/Name_%04d.jpg". Blank lines are ignored. The parser checks that each
// line has the kind (matched or mismatched) its position calls for and that
// the file holds exactly as many pairs as the header announces. Errors are of
// type *ParseError and carry the offending line number.
func ParseLFWPairs(r io.Reader) ([]Pair, error) {
	sc := bufio.NewScanner(stripBOM(r))
	sc.Buffer(make([]byte, 0, 64*1024), maxLine)

	var (
		lineNo     int
		headerSeen bool
		folded     bool // header had the "F N" form
		perClass   int  // N
		total      int  // pairs announced by the header
		pairs      []Pair
	)
	for sc.Scan() {
		lineNo++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		if !headerSeen {
			headerSeen = true
			folds := 1
			switch len(fields) {
			case 1:
				n, err := positiveInt(fields[0])
				if err != nil {
					return nil, lfwErr(lineNo, "header: pairs per class: %w", err)
				}
				perClass = n
			case 2:
				f, err := positiveInt(fields[0])
				if err != nil {
					return nil, lfwErr(lineNo, "header: number of folds: %w", err)
				}
				n, err := positiveInt(fields[1])
				if err != nil {
					return nil, lfwErr(lineNo, "header: pairs per class: %w", err)
				}
				folds, perClass, folded = f, n, true
			default:
				return nil, lfwErr(lineNo, "header: want \"folds<TAB>pairs-per-class\" or \"pairs-per-class\", got %d fields", len(fields))
			}
			if perClass > maxPairs/2/folds {
				return nil, lfwErr(lineNo, "header: %d folds of 2x%d pairs is more than the supported %d pairs", folds, perClass, maxPairs)
			}
			total = 2 * perClass * folds
			pairs = make([]Pair, 0, min(total, 1<<16))
			continue
		}

		idx := len(pairs)
		if idx >= total {
			return nil, lfwErr(lineNo, "more pairs than the %d announced by the header", total)
		}
		fold, pos := idx/(2*perClass), idx%(2*perClass)
		if !folded {
			fold = -1
		}
		wantSame := pos < perClass
		kind := "mismatched"
		if wantSame {
			kind = "matched"
		}
		var p Pair
		switch len(fields) {
		case 3:
			if !wantSame {
				return nil, lfwErr(lineNo, "pair %d should be mismatched (\"Name1 n1 Name2 n2\"), got a matched pair (3 fields)", idx+1)
			}
			a, err := lfwPath(fields[0], fields[1])
			if err != nil {
				return nil, lfwErr(lineNo, "%w", err)
			}
			b, err := lfwPath(fields[0], fields[2])
			if err != nil {
				return nil, lfwErr(lineNo, "%w", err)
			}
			p = Pair{A: a, B: b, Same: true, Fold: fold}
		case 4:
			if wantSame {
				return nil, lfwErr(lineNo, "pair %d should be matched (\"Name n1 n2\"), got a mismatched pair (4 fields)", idx+1)
			}
			a, err := lfwPath(fields[0], fields[1])
			if err != nil {
				return nil, lfwErr(lineNo, "%w", err)
			}
			b, err := lfwPath(fields[2], fields[3])
			if err != nil {
				return nil, lfwErr(lineNo, "%w", err)
			}
			p = Pair{A: a, B: b, Same: false, Fold: fold}
		default:
			return nil, lfwErr(lineNo, "want a %s pair, got %d fields (matched: \"Name n1 n2\", mismatched: \"Name1 n1 Name2 n2\")", kind, len(fields))
		}
		pairs = append(pairs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, lfwErr(lineNo+1, "read: %w", err)
	}
	if !headerSeen {
		return nil, lfwErr(0, "empty input: no header")
	}
	if len(pairs) != total {
		return nil, lfwErr(0, "header announces %d pairs, file has %d", total, len(pairs))
	}
	return pairs, nil
}

// positiveInt parses a decimal integer > 0.
func positiveInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	if n <= 0 {
		return 0, fmt.Errorf("%d is not positive", n)
	}
	return n, nil
}

// lfwPath builds "Name/Name_0001.jpg" from a person name and an image number.
func lfwPath(name, num string) (string, error) {
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("invalid person name %q", name)
	}
	n, err := positiveInt(num)
	if err != nil {
		return "", fmt.Errorf("image number for %s: %w", name, err)
	}
	return fmt.Sprintf("%s/%s_%04d.jpg", name, name, n), nil
}

// Accepted CSV header names (compared case-insensitively) for each column.
var (
	csvNamesA    = []string{"a", "img1", "image1", "img_a", "file_x", "path1"}
	csvNamesB    = []string{"b", "img2", "image2", "img_b", "file_y", "path2"}
	csvNamesSame = []string{"same", "decision", "label", "is_same", "issame"}
	csvNamesFold = []string{"fold"}
)

// ParsePairsCSV reads a pair list stored as CSV with a header row.
//
// The header names the columns (case-insensitively, in any order; other
// columns are ignored):
//
//   - first image: a, img1, image1, img_a, file_x or path1
//   - second image: b, img2, image2, img_b, file_y or path2
//   - label: same, decision, label, is_same or issame
//   - optional fold: fold
//
// so "a,b,same", "img1,img2,same" and deepface's "file_x,file_y,Decision" are
// all understood. A label is 1/0, true/false, yes/no, t/f or y/n (any case).
// A fold must be an integer >= 0; without a fold column every pair gets Fold
// -1. Image fields are returned as written (trimmed of surrounding spaces)
// and must not be empty. A file with a header but no pairs is an error.
// Errors are of type *ParseError and carry the offending line number.
func ParsePairsCSV(r io.Reader) ([]Pair, error) {
	cr := csv.NewReader(stripBOM(r))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, csvErr(0, "empty input: no header")
	}
	if err != nil {
		return nil, wrapCSVErr(err)
	}
	headerLine, _ := cr.FieldPos(0)
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; !dup {
			col[h] = i
		}
	}
	find := func(names []string) int {
		for _, n := range names {
			if i, ok := col[n]; ok {
				return i
			}
		}
		return -1
	}
	ia, ib, is, ifold := find(csvNamesA), find(csvNamesB), find(csvNamesSame), find(csvNamesFold)
	switch {
	case ia < 0:
		return nil, csvErr(headerLine, "header has no first-image column (one of %s)", strings.Join(csvNamesA, ", "))
	case ib < 0:
		return nil, csvErr(headerLine, "header has no second-image column (one of %s)", strings.Join(csvNamesB, ", "))
	case is < 0:
		return nil, csvErr(headerLine, "header has no label column (one of %s)", strings.Join(csvNamesSame, ", "))
	case ia == ib:
		return nil, csvErr(headerLine, "the two image columns are the same column")
	}
	need := max(ia, ib, is, ifold) + 1

	var pairs []Pair
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, wrapCSVErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) < need {
			return nil, csvErr(line, "want at least %d fields, got %d", need, len(rec))
		}
		a, b := strings.TrimSpace(rec[ia]), strings.TrimSpace(rec[ib])
		if a == "" || b == "" {
			return nil, csvErr(line, "empty image path")
		}
		same, err := parseLabel(rec[is])
		if err != nil {
			return nil, csvErr(line, "%w", err)
		}
		fold := -1
		if ifold >= 0 {
			f, err := strconv.Atoi(strings.TrimSpace(rec[ifold]))
			if err != nil || f < 0 {
				return nil, csvErr(line, "fold %q is not an integer >= 0", rec[ifold])
			}
			fold = f
		}
		pairs = append(pairs, Pair{A: a, B: b, Same: same, Fold: fold})
	}
	if len(pairs) == 0 {
		return nil, csvErr(0, "no pairs after the header")
	}
	return pairs, nil
}

// wrapCSVErr turns an encoding/csv error into a *ParseError with its line.
func wrapCSVErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{Format: csvFormat, Line: pe.Line, Err: pe.Err}
	}
	return &ParseError{Format: csvFormat, Err: fmt.Errorf("read: %w", err)}
}

// parseLabel parses a same/different label.
func parseLabel(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "t", "y":
		return true, nil
	case "0", "false", "no", "f", "n":
		return false, nil
	}
	return false, fmt.Errorf("label %q is not one of 1/0, true/false, yes/no", s)
}

// ParsePairs reads a pair list in either layout, deciding from its first
// non-blank line: a line of one or two integers is an LFW header (see
// ParseLFWPairs), a line containing a comma is a CSV header (see
// ParsePairsCSV). Anything else is an error.
func ParsePairs(r io.Reader) ([]Pair, error) {
	br := bufio.NewReader(stripBOM(r))
	var consumed strings.Builder
	first := ""
	for {
		line, err := br.ReadString('\n')
		consumed.WriteString(line)
		if t := strings.TrimSpace(line); t != "" {
			first = t
			break
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eval: pairs: read: %w", err)
		}
	}
	if first == "" {
		return nil, errors.New("eval: pairs: empty input")
	}
	rest := io.MultiReader(strings.NewReader(consumed.String()), br)
	if isLFWHeader(first) {
		return ParseLFWPairs(rest)
	}
	if strings.Contains(first, ",") {
		return ParsePairsCSV(rest)
	}
	if len(first) > 60 {
		first = first[:60] + "..."
	}
	return nil, fmt.Errorf("eval: pairs: unrecognised layout: first line %q is neither an LFW header nor a CSV header", first)
}

// isLFWHeader reports whether line looks like an LFW pairs header.
func isLFWHeader(line string) bool {
	f := strings.Fields(line)
	if len(f) < 1 || len(f) > 2 {
		return false
	}
	for _, s := range f {
		if _, err := strconv.Atoi(s); err != nil {
			return false
		}
	}
	return true
}
