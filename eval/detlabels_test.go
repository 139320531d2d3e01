package eval

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestParseDetLabelsGolden parses each label file under testdata/detlabels (WIDER FACE's RetinaFace and official
// layouts, dlib_examples' CSV, the plain CSV) and compares the result to its .golden.json (go test -update
// rewrites them; review the diff).
func TestParseDetLabelsGolden(t *testing.T) {
	for _, name := range []string{"retina.txt", "official.txt", "boxes.csv", "simple.csv"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "detlabels", name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseDetLabels(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.MarshalIndent(got, "", "  ")
			js = append(js, '\n')
			golden := filepath.Join("testdata", "detlabels", name+".golden.json")
			if *updateGolden {
				if err := os.WriteFile(golden, js, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(js, want) {
				t.Errorf("parse of %s differs from %s:\n%s", name, golden, js)
			}
		})
	}
}

// TestParseDetLabelsFacts checks the decisions the golden files encode, in words.
func TestParseDetLabelsFacts(t *testing.T) {
	parse := func(name string) []LabelledImage {
		data, err := os.ReadFile(filepath.Join("testdata", "detlabels", name))
		if err != nil {
			t.Fatal(err)
		}
		l, err := ParseDetLabels(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	off := parse("official.txt")
	if len(off) != 4 || len(off[1].Faces) != 3 || !off[1].Faces[1].Ignore || !off[1].Faces[2].Ignore || off[1].Faces[0].Ignore {
		t.Errorf("official: invalid (flag 1) and zero-area faces are ignored, others kept: %+v", off)
	}
	if len(off[2].Faces) != 0 || off[2].Path != "1--Handshaking/no_face.jpg" || off[3].Faces[0].Box != (BoxXYWH{1, 2, 3, 4}) {
		t.Errorf("official: a count of 0 and its line of zeros make an image without faces: %+v", off[2:])
	}
	ret := parse("retina.txt")
	if len(ret) != 4 || len(ret[0].Faces) != 2 || len(ret[2].Faces) != 0 || !ret[3].Faces[0].Ignore {
		t.Errorf("retina: %+v", ret)
	}
	csv := parse("boxes.csv")
	if len(csv) != 2 || len(csv[0].Faces) != 2 || csv[1].Path != "b/c.jpg" || csv[1].Faces[0].Box != (BoxXYWH{1.5, 2.5, 40, 44}) {
		t.Errorf("dlib CSV: %+v", csv)
	}
}

// TestParseDetLabelsErrors: broken label files get an error that names the line and the problem.
func TestParseDetLabelsErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "no image"},
		{"count missing", "a.jpg\nb.jpg\n", "want the face count of a.jpg"},
		{"faces missing", "a.jpg\n2\n1 2 3 4 0 0 0 0 0 0\n", "labels end before all faces of a.jpg"},
		{"faces missing before #", "a.jpg\n2\n# b.jpg\n", "faces of a.jpg missing"},
		{"huge count", "a.jpg\n999999999\n", "more than 100000"},
		{"box before path", "1 2 3 4\n", "without an image path"},
		{"short box", "# a.jpg\n1 2 3\n", "want at least 4 values"},
		{"nan", "# a.jpg\nNaN 2 3 4\n", "not a number"},
		{"inf", "# a.jpg\n1 +Inf 3 4\n", "not a number"},
		{"huge coord", "# a.jpg\n1 2 3 1e300\n", "not a number within"},
		{"empty #", "#\n", "empty image path"},
		{"long line", "# a.jpg\n" + strings.Repeat("1 ", MaxLabelLine), "longer than"},
		{"csv long line", "path,x,y,w,h\n" + strings.Repeat("a", MaxLabelLine+1) + ",1,2,3,4\n", "longer than"},
		{"csv no x", "path,y,w,h\na,1,2,3\n", "no x column"},
		{"csv no path", "x,y,w,h\n1,2,3,4\n", "path (or file) column"},
		{"csv short row", "path,x,y,w,h\na,1,2\n", "row 2 has 3 columns"},
		{"csv bad number", "path,x,y,w,h\na,1,2,3,four\n", "row 2"},
		{"csv empty path", "path,x,y,w,h\n,1,2,3,4\n", "empty path"},
		{"csv no rows", "path,x,y,w,h\n", "no face"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDetLabels(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzWIDERLabels: label files are untrusted input; any bytes give labels or an error, never a panic, and the
// labels keep the parser's limits and finite boxes.
func FuzzWIDERLabels(f *testing.F) {
	for _, name := range []string{"retina.txt", "official.txt", "boxes.csv", "simple.csv"} {
		data, err := os.ReadFile(filepath.Join("testdata", "detlabels", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("a\n0\n"))
	f.Add([]byte("path,x,y,w,h\n\"a,b\",1,2,3,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) ([]LabelledImage, error){
			func(b []byte) ([]LabelledImage, error) { return ParseDetLabels(bytes.NewReader(b)) },
			func(b []byte) ([]LabelledImage, error) { return ParseWIDERLabels(bytes.NewReader(b)) },
			func(b []byte) ([]LabelledImage, error) { return ParseBoxCSV(bytes.NewReader(b)) },
		} {
			imgs, err := parse(data)
			if err != nil {
				if imgs != nil {
					t.Fatalf("labels %v with error %v", imgs, err)
				}
				continue
			}
			if len(imgs) == 0 || len(imgs) > MaxLabelImages {
				t.Fatalf("%d images", len(imgs))
			}
			for _, im := range imgs {
				if im.Path == "" || len(im.Faces) > MaxLabelFaces {
					t.Fatalf("bad image %+v", im)
				}
				for _, fc := range im.Faces {
					for _, v := range []float64{fc.Box.X, fc.Box.Y, fc.Box.W, fc.Box.H} {
						if v != v || v > maxCoord || v < -maxCoord {
							t.Fatalf("box %+v out of range", fc.Box)
						}
					}
					if (fc.Box.W <= 0 || fc.Box.H <= 0) && !fc.Ignore {
						t.Fatalf("box without area not ignored: %+v", fc)
					}
				}
			}
		}
	})
}
