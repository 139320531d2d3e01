package eval

import (
	"errors"
	"github.com/facegate/facegate/internal/testutil/testenv"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseLFWPairsTwoFold(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "lfw_2fold.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParseLFWPairs(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 12 {
		t.Fatalf("got %d pairs, want 12", len(got))
	}
	want := []Pair{
		{"Alice_Able/Alice_Able_0001.jpg", "Alice_Able/Alice_Able_0002.jpg", true, 0},
		{"Alice_Able/Alice_Able_0001.jpg", "Alice_Able/Alice_Able_0003.jpg", true, 0},
		{"Bob_Baker/Bob_Baker_0002.jpg", "Bob_Baker/Bob_Baker_0004.jpg", true, 0},
		{"Alice_Able/Alice_Able_0001.jpg", "Bob_Baker/Bob_Baker_0001.jpg", false, 0},
		{"Carol_Cole/Carol_Cole_0002.jpg", "Dan_Drew/Dan_Drew_0001.jpg", false, 0},
		{"Bob_Baker/Bob_Baker_0003.jpg", "Carol_Cole/Carol_Cole_0001.jpg", false, 0},
		{"Dan_Drew/Dan_Drew_0001.jpg", "Dan_Drew/Dan_Drew_0002.jpg", true, 1},
		{"Eve_Ede/Eve_Ede_0003.jpg", "Eve_Ede/Eve_Ede_0010.jpg", true, 1},
		{"Carol_Cole/Carol_Cole_0001.jpg", "Carol_Cole/Carol_Cole_0002.jpg", true, 1},
		{"Eve_Ede/Eve_Ede_0001.jpg", "Alice_Able/Alice_Able_0002.jpg", false, 1},
		{"Dan_Drew/Dan_Drew_0002.jpg", "Eve_Ede/Eve_Ede_0002.jpg", false, 1},
		{"Bob_Baker/Bob_Baker_0001.jpg", "Dan_Drew/Dan_Drew_0001.jpg", false, 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestParseLFWPairsView1(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "lfw_view1.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ParsePairs(f) // also exercises sniffing
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{"Alice_Able/Alice_Able_0001.jpg", "Alice_Able/Alice_Able_0002.jpg", true, -1},
		{"Bob_Baker/Bob_Baker_0001.jpg", "Bob_Baker/Bob_Baker_0003.jpg", true, -1},
		{"Alice_Able/Alice_Able_0001.jpg", "Bob_Baker/Bob_Baker_0002.jpg", false, -1},
		{"Carol_Cole/Carol_Cole_0001.jpg", "Dan_Drew/Dan_Drew_0001.jpg", false, -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
}

func TestParseLFWPairsTolerance(t *testing.T) {
	// BOM, CRLF line ends, blank lines and mixed separators are accepted.
	in := "\ufeff1 1\r\n\r\nA\t1 2\r\nA 1\tB  3\r\n\r\n"
	got, err := ParseLFWPairs(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{"A/A_0001.jpg", "A/A_0002.jpg", true, 0},
		{"A/A_0001.jpg", "B/B_0003.jpg", false, 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestParseLFWPairsErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int    // 0: whole-file error
		contains string // part of the message
	}{
		{"empty", "", 0, "empty input"},
		{"blank only", "\n\n  \n", 0, "empty input"},
		{"bad header", "x y\n", 1, "not an integer"},
		{"three-field header", "1 2 3\n", 1, "header"},
		{"zero folds", "0 3\n", 1, "not positive"},
		{"negative N", "-2\n", 1, "not positive"},
		{"huge header", "1000000000 1000000000\n", 1, "more than the supported"},
		{"mismatched where matched expected", "1 1\nA 1 B 2\nA 1 B 2\n", 2, "should be matched"},
		{"matched where mismatched expected", "1 1\nA 1 2\nA 1 2\n", 3, "should be mismatched"},
		{"five fields", "1\nA 1 2\nA 1 B 2 C\n", 3, "5 fields"},
		{"two fields", "1\n\nA 1\n", 3, "2 fields"},
		{"bad number", "1\nA 1 x\nA 1 B 2\n", 2, "image number"},
		{"zero image number", "1\nA 0 1\nA 1 B 2\n", 2, "not positive"},
		{"path in name", "1\n../etc 1 2\nA 1 B 2\n", 2, "invalid person name"},
		{"too many", "1\nA 1 2\nA 1 B 2\nA 1 2\n", 4, "more pairs"},
		{"too few", "2 1\nA 1 2\nA 1 B 2\nA 1 2\n", 0, "announces 4 pairs, file has 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseLFWPairs(strings.NewReader(tc.in))
			checkParseError(t, err, tc.line, tc.contains)
		})
	}
}

func checkParseError(t *testing.T, err error, line int, contains string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *ParseError", err, err)
	}
	if pe.Line != line {
		t.Errorf("line = %d, want %d (%v)", pe.Line, line, err)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "eval: ") {
		t.Errorf("error %q lacks the eval: prefix", msg)
	}
	if !strings.Contains(msg, contains) {
		t.Errorf("error %q does not contain %q", msg, contains)
	}
}

func TestParsePairsCSV(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Pair
	}{
		{
			"a,b,same",
			"a,b,same\nx.jpg,y.jpg,1\nx.jpg,z.jpg,0\n",
			[]Pair{{"x.jpg", "y.jpg", true, -1}, {"x.jpg", "z.jpg", false, -1}},
		},
		{
			"img1,img2,same with extra column and true/false",
			"img1,img2,same,source\nimages/1.jpg,images/2.jpg,true,m.csv\nimages/1.jpg,images/3.jpg,FALSE,m.csv\n",
			[]Pair{{"images/1.jpg", "images/2.jpg", true, -1}, {"images/1.jpg", "images/3.jpg", false, -1}},
		},
		{
			"deepface file_x,file_y,Decision",
			"file_x,file_y,Decision\r\nimg1.jpg,img2.jpg,Yes\r\nimg1.jpg,img3.jpg,No\r\n",
			[]Pair{{"img1.jpg", "img2.jpg", true, -1}, {"img1.jpg", "img3.jpg", false, -1}},
		},
		{
			"columns reordered, fold column, spaces, quotes, BOM",
			"\ufeffSame, Fold, B, A\n1, 0, \"b, 1.jpg\", a.jpg\nno,3,d.jpg,c.jpg\n",
			[]Pair{{"a.jpg", "b, 1.jpg", true, 0}, {"c.jpg", "d.jpg", false, 3}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePairsCSV(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			// The sniffing entry point must agree.
			got, err = ParsePairs(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParsePairs: got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParsePairsCSVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		contains string
	}{
		{"empty", "", 0, "empty input"},
		{"no label column", "a,b,c\nx,y,1\n", 1, "no label column"},
		{"no first image", "left,b,same\nx,y,1\n", 1, "no first-image column"},
		{"no second image", "a,right,same\nx,y,1\n", 1, "no second-image column"},
		{"header only", "a,b,same\n", 0, "no pairs"},
		{"bad label", "a,b,same\nx,y,1\nx,z,maybe\n", 3, `label "maybe"`},
		{"short record", "a,b,same\nx,y,1\nx,z\n", 3, "want at least 3 fields, got 2"},
		{"empty path", "a,b,same\n\n ,y,1\n", 3, "empty image path"},
		{"bad fold", "a,b,same,fold\nx,y,1,-1\n", 2, "fold"},
		{"bad quote", "a,b,same\nx,y,1\n\"x,y,1\n", 3, "quote"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePairsCSV(strings.NewReader(tc.in))
			checkParseError(t, err, tc.line, tc.contains)
		})
	}
}

func TestParsePairsSniffErrors(t *testing.T) {
	for _, in := range []string{"", "\n \n", "hello world\n", "a b c\n"} {
		_, err := ParsePairs(strings.NewReader(in))
		if err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("ParsePairs(%q) = %v, want an eval: error", in, err)
		}
	}
	// The line numbers of errors count the blank lines skipped by sniffing.
	_, err := ParsePairs(strings.NewReader("\n\n1\nA 1 2\nA 1 B x\n"))
	checkParseError(t, err, 5, "image number")
}

// sharedDataset returns the path of a file in the shared datasets folder, which lives next to the repository
// root (../shared/datasets from the root), or skips the test (fails it under CI=true).
func sharedDataset(t *testing.T, rel string) string {
	t.Helper()
	return testenv.Shared(t, filepath.FromSlash(rel))
}

func TestParseRealLFWPairs(t *testing.T) {
	path := sharedDataset(t, "lfw/pairs.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pairs, err := ParsePairs(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 6000 {
		t.Fatalf("got %d pairs, want 6000", len(pairs))
	}
	same := 0
	perFold := map[int]int{}
	for _, p := range pairs {
		if p.Same {
			same++
		}
		perFold[p.Fold]++
	}
	if same != 3000 {
		t.Errorf("got %d same pairs, want 3000", same)
	}
	if len(perFold) != 10 {
		t.Errorf("got %d folds, want 10", len(perFold))
	}
	for f := 0; f < 10; f++ {
		if perFold[f] != 600 {
			t.Errorf("fold %d has %d pairs, want 600", f, perFold[f])
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(path), "images_deepfunneled", filepath.FromSlash(pairs[0].A))); err != nil {
		t.Logf("first image not found next to pairs.txt (not an error): %v", err)
	}
}

func TestParseRealLFWView1(t *testing.T) {
	for _, tc := range []struct {
		file string
		n    int
	}{{"lfw/pairsDevTrain.txt", 2200}, {"lfw/pairsDevTest.txt", 1000}} {
		path := sharedDataset(t, tc.file)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		pairs, err := ParseLFWPairs(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(pairs) != tc.n || !pairs[0].Same || pairs[len(pairs)-1].Same || pairs[0].Fold != -1 {
			t.Errorf("%s: %d pairs (want %d), first same=%v fold=%d", tc.file, len(pairs), tc.n, pairs[0].Same, pairs[0].Fold)
		}
	}
}

func TestParseRealDeepfacePairs(t *testing.T) {
	path := sharedDataset(t, "deepface_testset/pairs.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pairs, err := ParsePairs(f)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for _, p := range pairs {
		if p.Same {
			same++
		}
		if p.Fold != -1 {
			t.Fatalf("pair %v has a fold", p)
		}
	}
	if len(pairs) != 520 || same != 140 {
		t.Errorf("got %d pairs, %d same; want 520, 140", len(pairs), same)
	}
}

func FuzzParseLFWPairs(f *testing.F) {
	for _, s := range []string{
		"2\t3\nA 1 2\nA 1 3\nB 2 4\nA 1 B 1\nC 2 D 1\nB 3 C 1\nD 1 2\nE 3 10\nC 1 2\nE 1 A 2\nD 2 E 2\nB 1 D 1\n",
		"1\nA 1 2\nA 1 B 2\n",
		"\ufeff1 1\r\nA\t1\t2\r\nA\t1\tB\t3\r\n",
		"1 1\nA 1 B 2\n",
		"3 99999999\n",
		"",
		"1\n../x 1 2\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pairs, err := ParseLFWPairs(strings.NewReader(in))
		if err != nil {
			if pairs != nil {
				t.Error("pairs returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "eval: ") {
				t.Errorf("error %q lacks the eval: prefix", err)
			}
			return
		}
		if len(pairs) == 0 || len(pairs)%2 != 0 {
			t.Errorf("%d pairs without an error", len(pairs))
		}
		for _, p := range pairs {
			if p.A == "" || p.B == "" || p.Fold < -1 {
				t.Errorf("bad pair %+v", p)
			}
		}
	})
}

func FuzzParsePairsCSV(f *testing.F) {
	for _, s := range []string{
		"a,b,same\nx.jpg,y.jpg,1\nx.jpg,z.jpg,0\n",
		"img1,img2,same,source\ni/1.jpg,i/2.jpg,true,m\n",
		"file_x,file_y,Decision\r\nimg1.jpg,img2.jpg,Yes\r\n",
		"Same,Fold,B,A\n1,0,\"b,1\",a\n",
		"a,b,same\n\"x,y,1\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pairs, err := ParsePairsCSV(strings.NewReader(in))
		if err != nil {
			if pairs != nil {
				t.Error("pairs returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "eval: ") {
				t.Errorf("error %q lacks the eval: prefix", err)
			}
			return
		}
		if len(pairs) == 0 {
			t.Error("no pairs and no error")
		}
		for _, p := range pairs {
			if p.A == "" || p.B == "" || p.Fold < -1 {
				t.Errorf("bad pair %+v", p)
			}
		}
		// The sniffing parser must not panic either.
		_, _ = ParsePairs(strings.NewReader(in))
	})
}
