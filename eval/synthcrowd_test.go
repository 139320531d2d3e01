package eval

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/facegate/facegate/internal/testutil/testenv"
)

// synthSources loads a few real LFW photos (face box: the deep-funneled images' fixed centre region) and the
// labelled dlib_examples scenes.
func synthSources(t *testing.T) ([]SynthFace, []SynthBackground) {
	t.Helper()
	lfw := testenv.Shared(t, "lfw/images_deepfunneled")
	dlib := testenv.Shared(t, "dlib_examples/detection")
	load := func(p string) image.Image {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := jpeg.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	var faces []SynthFace
	for _, p := range []string{"Aaron_Eckhart/Aaron_Eckhart_0001.jpg", "AJ_Cook/AJ_Cook_0001.jpg", "Abdullah_Gul/Abdullah_Gul_0001.jpg"} {
		faces = append(faces, SynthFace{Img: load(filepath.Join(lfw, p)), Box: BoxXYWH{X: 85, Y: 75, W: 80, H: 100}})
	}
	f, err := os.Open(filepath.Join(dlib, "boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	labelled, err := ParseBoxCSV(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var bgs []SynthBackground
	for _, l := range labelled {
		bg := SynthBackground{Img: load(filepath.Join(dlib, l.Path))}
		for _, fc := range l.Faces {
			bg.Faces = append(bg.Faces, fc.Box)
		}
		bgs = append(bgs, bg)
	}
	return faces, bgs
}

// TestSynthCrowd: the files are the same for the same seed and differ for another; the label files say what
// SynthCrowd returned; every face lies inside its image, within the size range, apart from the others.
func TestSynthCrowd(t *testing.T) {
	faces, bgs := synthSources(t)
	cfg := SynthConfig{Images: 3, Seed: 42, Width: 640, Height: 360}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	la, err := SynthCrowd(a, cfg, faces, bgs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SynthCrowd(b, cfg, faces, bgs); err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 43
	if _, err := SynthCrowd(c, cfg, faces, bgs); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"crowd_0000.jpg", "crowd_0002.jpg", "labels.csv", "labels.txt"} {
		da, _ := os.ReadFile(filepath.Join(a, name))
		db, _ := os.ReadFile(filepath.Join(b, name))
		dc, _ := os.ReadFile(filepath.Join(c, name))
		if len(da) == 0 || !bytes.Equal(da, db) {
			t.Errorf("%s differs for the same seed", name)
		}
		if bytes.Equal(da, dc) {
			t.Errorf("%s is the same for another seed", name)
		}
	}
	for _, name := range []string{"labels.csv", "labels.txt"} {
		data, _ := os.ReadFile(filepath.Join(a, name))
		got, err := ParseDetLabels(bytes.NewReader(data))
		if err != nil || len(got) != 3 {
			t.Fatalf("%s: %v, %d images", name, err, len(got))
		}
		for i := range got {
			if len(got[i].Faces) != len(la[i].Faces) {
				t.Errorf("%s image %d: %d faces, SynthCrowd said %d", name, i, len(got[i].Faces), len(la[i].Faces))
			}
		}
	}
	for _, im := range la {
		if len(im.Faces) < 8 { // 12 to 30 asked; a few may find no free place
			t.Errorf("%s: only %d faces", im.Path, len(im.Faces))
		}
		for i, f := range im.Faces {
			bx := f.Box
			if bx.X < 0 || bx.Y < 0 || bx.X+bx.W > 640 || bx.Y+bx.H > 360 || bx.H < 7.5 || bx.H > 64.5 {
				t.Errorf("%s: face %+v outside the image or the 8-64 px range", im.Path, bx)
			}
			for _, g := range im.Faces[i+1:] {
				if bx.IoU(g.Box) > 0 {
					t.Errorf("%s: faces %+v and %+v overlap", im.Path, bx, g.Box)
				}
			}
		}
	}
}

func TestSynthCrowdConfigErrors(t *testing.T) {
	faces, bgs := synthSources(t)
	for _, cfg := range []SynthConfig{
		{Images: MaxSynthImages + 1},
		{Width: 10},
		{Width: 5000},
		{MinFaces: 5, MaxFaces: 2},
		{MinFaceH: 2},
		{MaxFaces: MaxSynthFaces + 1},
		{MaxFaces: 2_000_000_000}, // ran without end before it was bounded
	} {
		if err := cfg.Check(); err == nil {
			t.Errorf("%+v passes Check", cfg)
		}
		done := make(chan error, 1)
		go func() { _, err := SynthCrowd(t.TempDir(), cfg, faces, bgs); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%+v accepted", cfg)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%+v: SynthCrowd still running after 10 s", cfg)
		}
	}
	if _, err := SynthCrowd(t.TempDir(), SynthConfig{}, nil, bgs); err == nil {
		t.Error("no faces accepted")
	}
}
