package eval

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// BoxXYWH is an axis-aligned box in pixels: top-left corner and size.
type BoxXYWH struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// IoU is the intersection over union of two boxes (0 when either is empty).
func (b BoxXYWH) IoU(o BoxXYWH) float64 {
	ix := math.Min(b.X+b.W, o.X+o.W) - math.Max(b.X, o.X)
	iy := math.Min(b.Y+b.H, o.Y+o.H) - math.Max(b.Y, o.Y)
	if ix <= 0 || iy <= 0 || b.W <= 0 || b.H <= 0 || o.W <= 0 || o.H <= 0 {
		return 0
	}
	inter := ix * iy
	return inter / (b.W*b.H + o.W*o.H - inter)
}

// TruthBox is one labelled face. Ignore marks faces that neither count as missed nor make a detection on them
// a false positive (WIDER FACE's "invalid" faces and boxes without area).
type TruthBox struct {
	Box    BoxXYWH `json:"box"`
	Ignore bool    `json:"ignore,omitempty"`
}

// LabelledImage is an image path (relative to the label file's image folder) and its labelled faces.
type LabelledImage struct {
	Path  string     `json:"path"`
	Faces []TruthBox `json:"faces"`
}

// Limits on label files, which are untrusted input.
const (
	// MaxLabelLine is the longest line a label file may have, in bytes.
	MaxLabelLine = 64 << 10
	// MaxLabelFaces is the most faces one image may have in a label file.
	MaxLabelFaces = 100000
	// MaxLabelImages is the most images a label file may list.
	MaxLabelImages = 1000000
	// maxCoord bounds box coordinates (pixels); larger values are refused as nonsense.
	maxCoord = 1 << 20
)

// ParseDetLabels reads ground-truth face boxes in any of the formats the detection benchmark takes, telling them
// apart by content: WIDER FACE's RetinaFace layout ("# path" then one "x y w h ..." line per face), the official
// WIDER FACE layout (path line, face count line, "x y w h blur expression illumination invalid occlusion pose"
// lines) or CSV with a header naming path (or file), x, y, w and h columns.
func ParseDetLabels(r io.Reader) ([]LabelledImage, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(4096)
	first := strings.TrimSpace(strings.SplitN(strings.TrimLeft(string(head), "\ufeff \t\r\n"), "\n", 2)[0])
	if strings.Contains(first, ",") && !strings.HasPrefix(first, "#") {
		return ParseBoxCSV(br)
	}
	return ParseWIDERLabels(br)
}

// ParseWIDERLabels reads WIDER FACE labels, either the RetinaFace layout ("# path" lines each followed by
// "x y w h ..." lines, extra values ignored) or the official layout (path, count, then count lines of
// "x y w h blur expression illumination invalid occlusion pose"; an image with no face has count 0 and
// one line of zeros). Faces marked invalid, or with no area, are kept with Ignore set.
func ParseWIDERLabels(r io.Reader) ([]LabelledImage, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLabelLine)
	const (
		stPath = iota
		stCount
		stBoxes
		stZero
	)
	var (
		out     []LabelledImage
		lineNo  int
		state   = stPath
		pending int
		retina  bool
	)
	add := func(t TruthBox) error {
		if len(out) == 0 {
			return errors.New("box values before any image path")
		}
		return addFace(&out[len(out)-1], t)
	}
	newImage := func(p string) error {
		if len(out) >= MaxLabelImages {
			return fmt.Errorf("eval: labels list more than %d images", MaxLabelImages)
		}
		out = append(out, LabelledImage{Path: p})
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if state == stCount || state == stBoxes {
				return nil, fmt.Errorf("eval: labels line %d: faces of %s missing before '#'", lineNo, out[len(out)-1].Path)
			}
			retina, state = true, stPath
			p := strings.TrimSpace(strings.TrimPrefix(line, "#"))
			if p == "" {
				return nil, fmt.Errorf("eval: labels line %d: empty image path after '#'", lineNo)
			}
			if err := newImage(p); err != nil {
				return nil, err
			}
			continue
		}
		if retina {
			t, err := parseWIDERBox(line, false)
			if err == nil {
				err = add(t)
			}
			if err != nil {
				return nil, fmt.Errorf("eval: labels line %d: %w", lineNo, err)
			}
			continue
		}
		switch state {
		case stCount:
			if !countLine(line) {
				return nil, fmt.Errorf("eval: labels line %d: want the face count of %s, got %q", lineNo, out[len(out)-1].Path, trunc(line))
			}
			n, _ := strconv.Atoi(line)
			if n > MaxLabelFaces {
				return nil, fmt.Errorf("eval: labels line %d: %d faces in one image, more than %d", lineNo, n, MaxLabelFaces)
			}
			pending, state = n, stBoxes
			if n == 0 {
				state = stZero
			}
		case stBoxes:
			t, err := parseWIDERBox(line, true)
			if err == nil {
				err = add(t)
			}
			if err != nil {
				return nil, fmt.Errorf("eval: labels line %d: %w", lineNo, err)
			}
			if pending--; pending == 0 {
				state = stPath
			}
		default: // stPath, or stZero: the official files follow a count of 0 with one line of zeros
			if isNumbers(line) {
				if state == stZero {
					state = stPath
					continue
				}
				return nil, fmt.Errorf("eval: labels line %d: box values %q without an image path before them", lineNo, trunc(line))
			}
			if err := newImage(line); err != nil {
				return nil, err
			}
			state = stCount
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("eval: labels line %d longer than %d bytes", lineNo+1, MaxLabelLine)
		}
		return nil, fmt.Errorf("eval: reading labels: %w", err)
	}
	if state == stCount || state == stBoxes {
		return nil, fmt.Errorf("eval: labels end before all faces of %s", out[len(out)-1].Path)
	}
	if len(out) == 0 {
		return nil, errors.New("eval: labels list no image")
	}
	return out, nil
}

// countLine reports whether line is a plain non-negative integer (the official format's face count).
func countLine(line string) bool {
	if len(line) > 9 {
		return false
	}
	for _, c := range line {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isNumbers reports whether line is only whitespace-separated numbers.
func isNumbers(line string) bool {
	for _, f := range strings.Fields(line) {
		if _, err := strconv.ParseFloat(f, 64); err != nil {
			return false
		}
	}
	return true
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func addFace(img *LabelledImage, t TruthBox) error {
	if len(img.Faces) >= MaxLabelFaces {
		return fmt.Errorf("more than %d faces in %s", MaxLabelFaces, img.Path)
	}
	img.Faces = append(img.Faces, t)
	return nil
}

// parseWIDERBox parses "x y w h ..."; official says the 8th value is the invalid flag.
func parseWIDERBox(line string, official bool) (TruthBox, error) {
	f := strings.Fields(line)
	if len(f) < 4 {
		return TruthBox{}, fmt.Errorf("want at least 4 values (x y w h), got %q", trunc(line))
	}
	var v [4]float64
	for i := range v {
		x, err := parseCoord(f[i])
		if err != nil {
			return TruthBox{}, err
		}
		v[i] = x
	}
	t := TruthBox{Box: BoxXYWH{v[0], v[1], v[2], v[3]}}
	if official && len(f) >= 8 && f[7] == "1" {
		t.Ignore = true
	}
	if v[2] <= 0 || v[3] <= 0 {
		t.Ignore = true
	}
	return t, nil
}

func parseCoord(s string) (float64, error) {
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.Abs(x) > maxCoord {
		return 0, fmt.Errorf("box value %q is not a number within ±%d", trunc(s), maxCoord)
	}
	return x, nil
}

// ParseBoxCSV reads a CSV with a header that names a path (or file) column and x, y, w, h columns, one face per
// row (other columns, like dlib_examples' split, are ignored). Rows of the same path are one image, in order of
// first appearance.
func ParseBoxCSV(r io.Reader) ([]LabelledImage, error) {
	cr := csv.NewReader(&lineLimitReader{r: r})
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("eval: reading box CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	pathCol, ok := col["path"]
	if !ok {
		if pathCol, ok = col["file"]; !ok {
			return nil, errors.New("eval: box CSV header needs a path (or file) column and x, y, w, h columns")
		}
	}
	var idx [4]int
	for i, name := range []string{"x", "y", "w", "h"} {
		c, ok := col[name]
		if !ok {
			return nil, fmt.Errorf("eval: box CSV header has no %s column (want path,x,y,w,h)", name)
		}
		idx[i] = c
	}
	var out []LabelledImage
	byPath := map[string]int{}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("eval: box CSV: %w", err)
		}
		need := max(pathCol, idx[0], idx[1], idx[2], idx[3])
		if len(rec) <= need {
			return nil, fmt.Errorf("eval: box CSV row %d has %d columns, want at least %d", row, len(rec), need+1)
		}
		p := strings.TrimSpace(rec[pathCol])
		if p == "" {
			return nil, fmt.Errorf("eval: box CSV row %d has an empty path", row)
		}
		var v [4]float64
		for i, c := range idx {
			if v[i], err = parseCoord(strings.TrimSpace(rec[c])); err != nil {
				return nil, fmt.Errorf("eval: box CSV row %d: %w", row, err)
			}
		}
		i, seen := byPath[p]
		if !seen {
			if len(out) >= MaxLabelImages {
				return nil, fmt.Errorf("eval: labels list more than %d images", MaxLabelImages)
			}
			i = len(out)
			byPath[p] = i
			out = append(out, LabelledImage{Path: p})
		}
		t := TruthBox{Box: BoxXYWH{v[0], v[1], v[2], v[3]}, Ignore: v[2] <= 0 || v[3] <= 0}
		if err := addFace(&out[i], t); err != nil {
			return nil, fmt.Errorf("eval: box CSV row %d: %w", row, err)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("eval: box CSV lists no face")
	}
	return out, nil
}

// errLongLine is lineLimitReader's error.
var errLongLine = fmt.Errorf("eval: a label line is longer than %d bytes", MaxLabelLine)

// lineLimitReader fails once a line runs past MaxLabelLine bytes, so that no single CSV record can take more
// memory than that.
type lineLimitReader struct {
	r    io.Reader
	line int
}

func (l *lineLimitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.line = 0
		} else if l.line++; l.line > MaxLabelLine {
			return 0, errLongLine
		}
	}
	return n, err
}
