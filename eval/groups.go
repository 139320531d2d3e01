package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// GroupLabels maps an identity (a person's name as the pair list or the
// folder-per-person tree spells it, for example the LFW folder name) to the
// groups it belongs to, sorted and without duplicates. An identity may belong
// to several groups. Build one with ParseGroupLabels or by hand.
type GroupLabels map[string][]string

// Groups returns every group named in l, sorted.
func (l GroupLabels) Groups() []string {
	var gs []string
	for _, g := range l {
		gs = append(gs, g...)
	}
	slices.Sort(gs)
	return slices.Compact(gs)
}

// Has reports whether identity is labelled (belongs to at least one group).
func (l GroupLabels) Has(identity string) bool { return len(l[identity]) > 0 }

// In reports whether identity belongs to group.
func (l GroupLabels) In(identity, group string) bool {
	_, ok := slices.BinarySearch(l[identity], group)
	return ok
}

// Share reports whether identities a and b have a group in common.
func (l GroupLabels) Share(a, b string) bool { return len(l.shared(a, b)) > 0 }

// Members returns the identities of group, sorted.
func (l GroupLabels) Members(group string) []string {
	var ids []string
	for id := range l {
		if l.In(id, group) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// shared returns the groups both a and b belong to, in sorted order.
func (l GroupLabels) shared(a, b string) []string {
	ga, gb := l[a], l[b]
	if a == b {
		return ga
	}
	var out []string
	for i, j := 0, 0; i < len(ga) && j < len(gb); {
		switch c := strings.Compare(ga[i], gb[j]); {
		case c == 0:
			out = append(out, ga[i])
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return out
}

const (
	groupsFormat     = "group labels"
	identitiesFormat = "image identities"
	// maxLabelLen bounds identity, group and image names in the label files.
	maxLabelLen = 1024
)

// ParseGroupLabels reads a group-labels file: CSV with two columns,
// identity,group.
//
//   - The identity is the person's name as the evaluation knows it: the LFW
//     folder name ("George_W_Bush"), the folder name in a folder-per-person
//     tree, or the identity assigned by an image-identities file (see
//     ParseImageIdentities).
//   - An identity belongs to several groups either through repeated rows
//     ("Ann,twins" and "Ann,age<18") or through one field listing them
//     separated by semicolons ("Ann,twins;age<18"); both may be mixed.
//     Repeating an identity-group pair is allowed and has no effect.
//   - Lines starting with '#' are comments; blank lines are skipped. Fields
//     are trimmed of surrounding spaces; CSV quoting is honoured, so a name
//     containing a comma can be written "Smith, Ann".
//   - The first row is a header, and skipped, when it reads
//     "identity,group" or "identity,groups" (any case).
//
// Every row must have exactly two fields, and neither the identity nor any
// group may be empty. A file with no labels is an error. Errors are of type
// *ParseError and carry the offending line number.
func ParseGroupLabels(r io.Reader) (GroupLabels, error) {
	labels := GroupLabels{}
	err := readTwoColumns(r, groupsFormat, func(a, b string) bool {
		return strings.EqualFold(a, "identity") && (strings.EqualFold(b, "group") || strings.EqualFold(b, "groups"))
	}, func(id, groups string) error {
		if id == "" {
			return fmt.Errorf("empty identity")
		}
		for _, g := range strings.Split(groups, ";") {
			g = strings.TrimSpace(g)
			if g == "" {
				return fmt.Errorf("empty group name for identity %q", id)
			}
			if len(g) > maxLabelLen {
				return fmt.Errorf("group name longer than %d bytes", maxLabelLen)
			}
			labels[id] = append(labels[id], g)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, &ParseError{Format: groupsFormat, Err: errors.New("no labels: want rows of identity,group")}
	}
	for id, gs := range labels {
		slices.Sort(gs)
		labels[id] = slices.Compact(gs)
	}
	return labels, nil
}

// ParseImageIdentities reads an image-identities file: CSV with two columns,
// image,identity, mapping each image path (exactly as the pair list writes
// it) to the identity of the person it shows. It is needed for pair lists
// whose paths do not carry the person's name in their folder (see
// IdentityFromPath), such as the deepface test set's identities.csv.
//
// The first row is a header, and skipped, when its second field is
// "identity" (any case). Lines starting with '#' are comments; fields are
// trimmed. Every row must have exactly two non-empty fields; an image listed
// twice with two different identities is an error. Errors are of type
// *ParseError and carry the offending line number.
func ParseImageIdentities(r io.Reader) (map[string]string, error) {
	ids := map[string]string{}
	err := readTwoColumns(r, identitiesFormat, func(_, b string) bool {
		return strings.EqualFold(b, "identity")
	}, func(img, id string) error {
		if img == "" || id == "" {
			return fmt.Errorf("empty image or identity")
		}
		if old, ok := ids[img]; ok && old != id {
			return fmt.Errorf("image %q given two identities, %q and %q", img, old, id)
		}
		ids[img] = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, &ParseError{Format: identitiesFormat, Err: errors.New("no rows: want rows of image,identity")}
	}
	return ids, nil
}

// readTwoColumns reads a two-column CSV file with '#' comments and an
// optional header recognised by isHeader, calling row for each data row.
func readTwoColumns(r io.Reader, format string, isHeader func(a, b string) bool, row func(a, b string) error) error {
	cr := csv.NewReader(stripBOM(r))
	cr.FieldsPerRecord = -1
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &ParseError{Format: format, Line: pe.Line, Err: pe.Err}
			}
			return &ParseError{Format: format, Err: fmt.Errorf("read: %w", err)}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return &ParseError{Format: format, Line: line, Err: fmt.Errorf("want 2 fields, got %d", len(rec))}
		}
		a, b := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if first {
			first = false
			if isHeader(a, b) {
				continue
			}
		}
		if len(a) > maxLabelLen || len(b) > maxLabelLen {
			return &ParseError{Format: format, Line: line, Err: fmt.Errorf("field longer than %d bytes", maxLabelLen)}
		}
		if err := row(a, b); err != nil {
			return &ParseError{Format: format, Line: line, Err: err}
		}
	}
}

// IdentityFromPath returns the identity implied by an image path of a pair
// list or a folder-per-person tree: the name of the folder holding the image
// ("George_W_Bush/George_W_Bush_0001.jpg" gives "George_W_Bush"). Both '/'
// and '\' separate folders. An image with no folder gives "".
func IdentityFromPath(p string) string {
	p = strings.ReplaceAll(p, `\`, "/")
	dir := path.Dir(p)
	if dir == "." || dir == "/" {
		return ""
	}
	return path.Base(dir)
}
