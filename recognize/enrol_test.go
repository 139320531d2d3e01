package recognize_test

import (
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/recognize"
)

func TestGate(t *testing.T) {
	good := facegate.Face{Quality: facegate.Quality{Size: 120, Score: 0.8, Sharpness: 0.5, LeftEyeOpen: 0.9, RightEyeOpen: 0.95}}
	def := recognize.DefaultEnrolOptions()
	live, notLive, score := true, false, float32(0.1)
	tests := []struct {
		name string
		edit func(f *facegate.Face, o *recognize.EnrolOptions)
		want []string
	}{
		{"good", func(*facegate.Face, *recognize.EnrolOptions) {}, nil},
		{"small", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.Size = 40 }, []string{"too_small"}},
		{"low score with causes", func(f *facegate.Face, _ *recognize.EnrolOptions) {
			f.Quality.Score, f.Quality.Issues = 0.2, []string{"blurred", "dark", "pose_roll"}
		}, []string{"low_quality", "blurred", "dark"}},
		{"below min sharpness", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.Sharpness = 0.1 }, []string{"blurred"}},
		{"blurry and low score", func(f *facegate.Face, _ *recognize.EnrolOptions) {
			f.Quality.Sharpness, f.Quality.Score, f.Quality.Issues = 0.1, 0.2, []string{"blurred"}
		}, []string{"blurred", "low_quality"}},
		{"blur flag alone passes", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.Issues = []string{"blurred"} }, nil},
		{"min_quality 0", func(f *facegate.Face, o *recognize.EnrolOptions) { f.Quality.Score, o.MinQuality = 0.05, 0 }, nil},
		{"yaw", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.Pose.Yaw = -45 }, []string{"pose_yaw"}},
		{"pitch", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.Pose.Pitch = 30 }, []string{"pose_pitch"}},
		{"eyes", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.LeftEyeOpen = 0.1 }, []string{"eyes_closed"}},
		{"eyes allowed", func(f *facegate.Face, o *recognize.EnrolOptions) { f.Quality.LeftEyeOpen, o.AllowClosed = 0.1, true }, nil},
		{"spoof", func(f *facegate.Face, o *recognize.EnrolOptions) {
			o.RequireLive, f.Attributes = true, &facegate.Attributes{Live: &notLive, LiveScore: &score}
		}, []string{"not_live"}},
		{"live", func(f *facegate.Face, o *recognize.EnrolOptions) {
			o.RequireLive, f.Attributes = true, &facegate.Attributes{Live: &live}
		}, nil},
		{"several", func(f *facegate.Face, _ *recognize.EnrolOptions) { f.Quality.Size, f.Quality.Pose.Yaw = 30, 50 }, []string{"too_small", "pose_yaw"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, o := good, def
			tc.edit(&f, &o)
			var got []string
			for _, r := range recognize.Gate(f, o) {
				got = append(got, r.Code)
				if r.Message == "" {
					t.Errorf("reason %s without a message", r.Code)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("reasons %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("reasons %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestChooseFace(t *testing.T) {
	faces := []facegate.Face{{}, {}}
	if i, rej := recognize.ChooseFace(nil, 0, recognize.DefaultEnrolOptions()); rej == nil || rej.Code != recognize.CodeNoFace || i != -1 {
		t.Fatalf("no face: %d %+v", i, rej)
	}
	if _, rej := recognize.ChooseFace(faces, 1, recognize.DefaultEnrolOptions()); rej == nil || rej.Code != recognize.CodeMultipleFaces {
		t.Fatalf("two faces: %+v", rej)
	}
	o := recognize.DefaultEnrolOptions()
	o.TakeLargest = true
	if i, rej := recognize.ChooseFace(faces, 1, o); rej != nil || i != 1 {
		t.Fatalf("take_largest: %d %+v", i, rej)
	}
	if i, rej := recognize.ChooseFace(faces[:1], 0, recognize.DefaultEnrolOptions()); rej != nil || i != 0 {
		t.Fatalf("one face: %d %+v", i, rej)
	}
}
