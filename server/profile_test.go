package server_test

import (
	"strings"
	"testing"

	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/server"
)

// TestDetectProfile: POST /v1/detect takes the profile option and the real engine searches the crowd profile's
// smallest faces (min_face_used 12, against 40 by default); an unknown profile is a 400 bad_request naming the
// profiles, before any analysis. Stream requests are held to the same names.
func TestDetectProfile(t *testing.T) {
	e := realEnv(t, server.Config{})
	img := fakePhoto(t, fakeFace{id: 7, cos: 100})
	for _, c := range []struct {
		profile string
		want    int
	}{{"", engine.DefaultMinFace}, {"default", engine.DefaultMinFace}, {"crowd", engine.CrowdMinFace}} {
		var res api.DetectResponse
		fields := map[string]string{}
		if c.profile != "" {
			fields["profile"] = c.profile // a plain form value, as curl -F profile=crowd sends it
		}
		if st := e.image("/v1/detect", e.admin, img, fields, &res); st != 200 || res.MinFaceUsed != c.want {
			t.Errorf("profile %q: %d, min_face_used %d, want 200 and %d", c.profile, st, res.MinFaceUsed, c.want)
		}
	}
	for _, bad := range []string{"fast", "CROWD", "3"} {
		var ae apiErr
		st := e.image("/v1/detect", e.admin, img, map[string]string{"profile": bad}, &ae)
		if st != 400 || ae.Error.Code != api.CodeBadRequest || !strings.Contains(ae.Error.Message, "profile") {
			t.Errorf("profile %s: %d %+v, want 400 bad_request about the profile", bad, st, ae.Error)
		}
	}
	var ae apiErr
	if st := e.json("POST", "/v1/streams", e.admin, api.StreamRequest{Name: "s", Source: "/x.mp4", Profile: "fast"}, &ae); st != 400 ||
		ae.Error.Code != api.CodeBadRequest || !strings.Contains(ae.Error.Message, "default or crowd") {
		t.Errorf("stream profile fast: %d %+v, want 400 bad_request naming the profiles", st, ae.Error)
	}
}
