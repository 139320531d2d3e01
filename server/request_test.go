package server

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/facegate/facegate"
)

// FuzzReadInput feeds arbitrary content types and bodies to the request decoder: it must never panic, and every
// failure must be a client error (4xx) with a code.
func FuzzReadInput(f *testing.F) {
	seeds := []struct{ ct, body string }{
		{"image/jpeg", "\xff\xd8\xff\xe0"},
		{"application/json", `{"image": "aGVsbG8=", "top_k": 3}`},
		{"application/json", `{"images": ["aGVsbG8=", "data:image/png;base64,aGVsbG8="]}`},
		{"multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\nabc\r\n--X\r\nContent-Disposition: form-data; name=\"top_k\"\r\n\r\n5\r\n--X--\r\n"},
		{"multipart/form-data; boundary=X", "--X\r\nbroken"},
		{"text/plain", "hello"},
		{"", ""},
		{"application/json", `{"image": 5}`},
		{"application/json", `[1,2]`},
	}
	for _, s := range seeds {
		f.Add(s.ct, []byte(s.body), false)
		f.Add(s.ct, []byte(s.body), true)
	}
	s := &Server{cfg: Config{MaxBodyBytes: 1 << 16}}
	f.Fuzz(func(t *testing.T, ct string, body []byte, list bool) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		var in *input
		var err error
		if list {
			in, err = s.readImages(w, r)
		} else {
			in, err = s.readInput(w, r, "image")
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 || ae.Code == "" {
				t.Fatalf("error %v is not a client error with a code", err)
			}
			return
		}
		if !list && in.images["image"] == nil {
			t.Fatalf("success without the image")
		}
		for k := range in.fields {
			var v any
			_ = in.field(k, &v) // must not panic
		}
	})
}

func TestGate(t *testing.T) {
	good := facegate.Face{Quality: facegate.Quality{Size: 120, Score: 0.8, Sharpness: 0.5, LeftEyeOpen: 0.9, RightEyeOpen: 0.95}}
	def := enrolOptions{MinSize: 60, MinQuality: 0.4, MinSharpness: 0.2, MaxYaw: 30, MaxPitch: 25}
	live, notLive, score := true, false, float32(0.1)
	tests := []struct {
		name string
		edit func(f *facegate.Face, o *enrolOptions)
		want []string
	}{
		{"good", func(*facegate.Face, *enrolOptions) {}, nil},
		{"small", func(f *facegate.Face, _ *enrolOptions) { f.Quality.Size = 40 }, []string{"too_small"}},
		{"low score with causes", func(f *facegate.Face, _ *enrolOptions) {
			f.Quality.Score, f.Quality.Issues = 0.2, []string{"blurred", "dark", "pose_roll"}
		}, []string{"low_quality", "blurred", "dark"}},
		{"below min sharpness", func(f *facegate.Face, _ *enrolOptions) { f.Quality.Sharpness = 0.1 }, []string{"blurred"}},
		{"blurry and low score", func(f *facegate.Face, _ *enrolOptions) {
			f.Quality.Sharpness, f.Quality.Score, f.Quality.Issues = 0.1, 0.2, []string{"blurred"}
		}, []string{"blurred", "low_quality"}},
		{"blur flag alone passes", func(f *facegate.Face, _ *enrolOptions) { f.Quality.Issues = []string{"blurred"} }, nil},
		{"min_quality 0", func(f *facegate.Face, o *enrolOptions) { f.Quality.Score, o.MinQuality = 0.05, 0 }, nil},
		{"yaw", func(f *facegate.Face, _ *enrolOptions) { f.Quality.Pose.Yaw = -45 }, []string{"pose_yaw"}},
		{"pitch", func(f *facegate.Face, _ *enrolOptions) { f.Quality.Pose.Pitch = 30 }, []string{"pose_pitch"}},
		{"eyes", func(f *facegate.Face, _ *enrolOptions) { f.Quality.LeftEyeOpen = 0.1 }, []string{"eyes_closed"}},
		{"eyes allowed", func(f *facegate.Face, o *enrolOptions) { f.Quality.LeftEyeOpen, o.AllowClosed = 0.1, true }, nil},
		{"spoof", func(f *facegate.Face, o *enrolOptions) {
			o.RequireLive, f.Attributes = true, &facegate.Attributes{Live: &notLive, LiveScore: &score}
		}, []string{"not_live"}},
		{"live", func(f *facegate.Face, o *enrolOptions) {
			o.RequireLive, f.Attributes = true, &facegate.Attributes{Live: &live}
		}, nil},
		{"several", func(f *facegate.Face, _ *enrolOptions) { f.Quality.Size, f.Quality.Pose.Yaw = 30, 50 }, []string{"too_small", "pose_yaw"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, o := good, def
			tc.edit(&f, &o)
			var got []string
			for _, r := range gate(f, o) {
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
