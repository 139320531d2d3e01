package eval

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseGroupLabels(t *testing.T) {
	in := "\ufeff# synthetic labels\nIdentity,Group\n" +
		"alice, A\n" +
		"bob,A\n" +
		"\n" +
		"carol,B;A\n" +
		"carol,B\n" + // repeated: no effect
		"\"Smith, Ann\",C\n" +
		"# a comment line\n" +
		"dave , B ; C \n"
	got, err := ParseGroupLabels(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := GroupLabels{
		"alice":      {"A"},
		"bob":        {"A"},
		"carol":      {"A", "B"},
		"Smith, Ann": {"C"},
		"dave":       {"B", "C"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if g := got.Groups(); !reflect.DeepEqual(g, []string{"A", "B", "C"}) {
		t.Errorf("Groups() = %v", g)
	}
	if m := got.Members("B"); !reflect.DeepEqual(m, []string{"carol", "dave"}) {
		t.Errorf("Members(B) = %v", m)
	}
	if !got.In("carol", "A") || got.In("alice", "B") || got.Has("zed") || !got.Has("bob") {
		t.Error("In/Has wrong")
	}
	if s := got.shared("carol", "dave"); !reflect.DeepEqual(s, []string{"B"}) {
		t.Errorf("shared(carol, dave) = %v", s)
	}
	// Without a header the first row is data.
	got, err = ParseGroupLabels(strings.NewReader("x,g1\ny,g2\n"))
	if err != nil || len(got) != 2 {
		t.Errorf("headerless: %v %v", got, err)
	}
}

func TestParseGroupLabelsErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line int
		msg  string
	}{
		{"", 0, "no labels"},
		{"identity,group\n# nothing\n", 0, "no labels"},
		{"a,g\nb\n", 2, "want 2 fields, got 1"},
		{"a,g\n\nb,g,h\n", 3, "want 2 fields, got 3"},
		{"a,g\n,g\n", 2, "empty identity"},
		{"a,g\nb, \n", 2, "empty group name"},
		{"a,g\nb,x;;y\n", 2, "empty group name"},
		{"a,g\nb,\"x\n", 2, "quote"},
		{"a," + strings.Repeat("g", 2000) + "\n", 1, "longer than"},
	} {
		_, err := ParseGroupLabels(strings.NewReader(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *ParseError", tc.in, err)
			continue
		}
		if pe.Line != tc.line || pe.Format != "group labels" || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "eval: group labels: ") {
			t.Errorf("%q: got %q (line %d), want line %d containing %q", tc.in, err, pe.Line, tc.line, tc.msg)
		}
	}
}

func TestParseImageIdentities(t *testing.T) {
	got, err := ParseImageIdentities(strings.NewReader("file,identity\nimages/img1.jpg,id01\nimages/img2.jpg , id01\n# c\nimages/img3.jpg,id02\nimages/img3.jpg,id02\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"images/img1.jpg": "id01", "images/img2.jpg": "id01", "images/img3.jpg": "id02"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v", got)
	}
	for _, tc := range []struct {
		in   string
		line int
		msg  string
	}{
		{"file,identity\n", 0, "no rows"},
		{"a.jpg,x\na.jpg,y\n", 2, "two identities"},
		{"a.jpg,x\nb.jpg,\n", 2, "empty image or identity"},
		{"a.jpg\n", 1, "want 2 fields"},
	} {
		_, err := ParseImageIdentities(strings.NewReader(tc.in))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != tc.line || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: got %v, want line %d containing %q", tc.in, err, tc.line, tc.msg)
		}
	}
}

func TestIdentityFromPath(t *testing.T) {
	for in, want := range map[string]string{
		"George_W_Bush/George_W_Bush_0001.jpg": "George_W_Bush",
		"lfw/Ann/Ann_0002.jpg":                 "Ann",
		`Ann\Ann_0002.jpg`:                     "Ann",
		"img1.jpg":                             "",
		"/img1.jpg":                            "",
		"images/img1.jpg":                      "images",
	} {
		if got := IdentityFromPath(in); got != want {
			t.Errorf("IdentityFromPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseGroupLabels(f *testing.F) {
	for _, s := range []string{
		"identity,group\nalice,A\nbob,A;B\n",
		"# c\nx,g\nx,h\n",
		"\ufeffa,\"b;c\"\n",
		"a,g\nb\n",
		"a,;\n",
		"\"a\nb\",g\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		labels, err := ParseGroupLabels(strings.NewReader(in))
		if err != nil {
			if labels != nil {
				t.Error("labels returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "eval: group labels: ") {
				t.Errorf("error %q lacks the prefix", err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not a *ParseError", err)
			}
			return
		}
		if len(labels) == 0 {
			t.Error("no labels and no error")
		}
		for id, gs := range labels {
			if id == "" || len(gs) == 0 {
				t.Errorf("bad entry %q: %v", id, gs)
			}
			for i, g := range gs {
				if g == "" || strings.Contains(g, ";") || strings.TrimSpace(g) != g {
					t.Errorf("bad group %q of %q", g, id)
				}
				if i > 0 && gs[i-1] >= g {
					t.Errorf("groups of %q not sorted and unique: %v", id, gs)
				}
			}
		}
	})
}
