package cli

import (
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// TestDetectProfileCrowd: 'detect --profile crowd' finds the small faces of a 1920x1080 frame that holds a dlib
// photo of seven labelled faces shrunk to 35% (Catmull-Rom; faces 16-24 px) on grey, where the default profile finds
// two (measured: 7 and 2), and reports the crowd profile's minimum face size.
func TestDetectProfileCrowd(t *testing.T) {
	needModels(t)
	f, err := os.Open(sharedPath(t, "dlib_examples/detection/2008_007676.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	photo, err := jpeg.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	draw.Draw(frame, frame.Rect, image.NewUniform(color.Gray{Y: 128}), image.Point{}, draw.Src)
	b := photo.Bounds()
	dst := image.Rect(700, 400, 700+b.Dx()*35/100, 400+b.Dy()*35/100)
	xdraw.CatmullRom.Scale(frame, dst, photo, b, xdraw.Src, nil)
	path := filepath.Join(t.TempDir(), "crowd1080.jpg")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(out, frame, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	out.Close()
	found := map[string]imageResult{}
	for _, profile := range []string{"default", "crowd"} {
		code, stdout, errs := run(t, "detect", "--json", "--profile", profile, path)
		var r imageResult
		if err := json.Unmarshal([]byte(stdout), &r); code != ExitOK || err != nil {
			t.Fatalf("--profile %s: exit %d, %v, stderr %q", profile, code, err, errs)
		}
		found[profile] = r
	}
	d, c := found["default"], found["crowd"]
	t.Logf("default: %d faces (min face %d); crowd: %d faces (min face %d)", len(d.Faces), d.MinFaceUsed, len(c.Faces), c.MinFaceUsed)
	if len(c.Faces) < 6 || len(c.Faces) <= len(d.Faces) || c.MinFaceUsed != 12 {
		t.Errorf("crowd profile: %d faces, min face %d; want at least 6 of the 7, more than the default's %d, and 12",
			len(c.Faces), c.MinFaceUsed, len(d.Faces))
	}
}
