package server_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/server"
)

// TestStreamHeatmap runs a fake clip (one fake face in every frame, its box (0,0)-(80,80) of a 200×160 frame:
// centre (0.2, 0.25), grid cell row 4, column 6) through a stream with a zone and a line, then reads the
// heatmap: every face-frame of the crowd events lands in that one cell, in the JSON grid and in the PNG.
func TestStreamHeatmap(t *testing.T) {
	clip := fakeClip(t, 3, fakeFace{3, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op, err := c.CreateKey(ctx, "operator", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "hall", Source: clip, FPS: 5, NoRealtime: true, CrowdIntervalSeconds: 1,
		Zones: []facegate.Zone{{Name: "left", Points: []facegate.FramePoint{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0.5, Y: 1}, {X: 0, Y: 1}}}},
		Lines: []facegate.Line{{Name: "middle", From: facegate.FramePoint{X: 0.5, Y: 0}, To: facegate.FramePoint{X: 0.5, Y: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Zones) != 1 || len(info.Zones[0].Points) != 4 || len(info.Lines) != 1 {
		t.Fatalf("the stream's zones and lines were not kept: %+v %+v", info.Zones, info.Lines)
	}
	for {
		st, err := c.Stream(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State == facegate.StreamEnded {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the stream did not end: %+v", st.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
	evs, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}, Types: []facegate.EventType{facegate.EventCrowd}}, 1000)
	if err != nil || len(evs) < 2 {
		t.Fatalf("%d crowd events (%v), want several at 1 s intervals over 3 s", len(evs), err)
	}
	faceFrames := 0
	for _, ev := range evs {
		faceFrames += ev.Crowd.Heatmap.Total()
		if z := ev.Crowd.Zones; len(z) != 1 || z[0].TracksMax > ev.Crowd.FacesMax {
			t.Errorf("zone figures %+v with %d faces at most", z, ev.Crowd.FacesMax)
		}
	}
	const cell = 4*facegate.HeatmapCols + 6
	hm, err := e.client(op.Secret).StreamHeatmap(ctx, info.ID, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if hm.Intervals != len(evs) || hm.Cols != 32 || hm.Rows != 18 || hm.Total < 10 || hm.Total != faceFrames || hm.Cells[cell] != hm.Total || hm.Max != hm.Total {
		t.Fatalf("heatmap %d intervals (%d events), %dx%d, total %d, max %d, cell %d = %d", hm.Intervals, len(evs), hm.Cols, hm.Rows, hm.Total, hm.Max, cell, hm.Cells[cell])
	}
	if hm.From == nil || hm.To == nil || !hm.From.Equal(evs[0].Crowd.From) || !hm.To.Equal(evs[len(evs)-1].Crowd.To) {
		t.Errorf("heatmap span %v..%v, want %v..%v", hm.From, hm.To, evs[0].Crowd.From, evs[len(evs)-1].Crowd.To)
	}
	// A period after the last interval holds nothing; one that ends inside the first holds only it.
	later, err := c.StreamHeatmap(ctx, info.ID, evs[len(evs)-1].Crowd.To.Add(time.Second), time.Time{})
	if err != nil || later.Intervals != 0 || later.Total != 0 || later.From != nil {
		t.Errorf("heatmap after the last interval: %+v %v", later, err)
	}
	first, err := c.StreamHeatmap(ctx, info.ID, time.Time{}, evs[0].Crowd.To.Add(-time.Millisecond))
	if err != nil || first.Intervals != 1 || first.Total != evs[0].Crowd.Heatmap.Total() {
		t.Errorf("heatmap of the first interval: %d intervals, total %d, want 1 and %d (%v)", first.Intervals, first.Total, evs[0].Crowd.Heatmap.Total(), err)
	}

	// The PNG: 20 pixels a cell; the full cell is the ramp's top (red), an empty one its bottom (dark).
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/v1/streams/"+info.ID+"/heatmap?format=png", nil)
	req.Header.Set("Authorization", "Bearer "+op.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("png %v, want 640x360", b)
	}
	if r, g, b, _ := img.At(6*20+10, 4*20+10).RGBA(); r>>8 < 200 || g>>8 > 60 || b>>8 > 60 {
		t.Errorf("the full cell is (%d,%d,%d), want red", r>>8, g>>8, b>>8)
	}
	if r, g, b, _ := img.At(25*20+10, 15*20+10).RGBA(); r>>8 > 40 || g>>8 > 40 || b>>8 > 60 {
		t.Errorf("an empty cell is (%d,%d,%d), want dark", r>>8, g>>8, b>>8)
	}

	// Reading the heatmap is audited like every route.
	var list api.AuditList
	e.json("GET", "/v1/audit?action="+strings.ReplaceAll("GET /v1/streams/{id}/heatmap", " ", "%20"), e.admin, nil, &list)
	if len(list.Entries) != 4 {
		t.Errorf("%d audit entries for the heatmap route, want 4", len(list.Entries))
	}
}

// TestStreamHeatmapErrors: bad periods and formats, unknown streams and missing keys are refused plainly.
func TestStreamHeatmapErrors(t *testing.T) {
	clip := fakeClip(t, 1, fakeFace{3, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	info, err := e.client(e.admin).CreateStream(context.Background(), api.StreamRequest{Name: "hall", Source: clip, NoRealtime: true})
	if err != nil {
		t.Fatal(err)
	}
	base := "/v1/streams/" + info.ID + "/heatmap"
	for _, tc := range []struct {
		path, key string
		status    int
		code      string
	}{
		{base + "?from=yesterday", e.admin, 400, api.CodeBadRequest},
		{base + "?to=2026-13-01T00:00:00Z", e.admin, 400, api.CodeBadRequest},
		{base + "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", e.admin, 400, api.CodeBadRequest},
		{base + "?format=gif", e.admin, 400, api.CodeBadRequest},
		{"/v1/streams/nope/heatmap", e.admin, 404, api.CodeNotFound},
		{base, "", 401, api.CodeUnauthorized},
	} {
		var out apiErr
		if got := e.json("GET", tc.path, tc.key, nil, &out); got != tc.status || out.Error.Code != tc.code || out.Error.Message == "" {
			t.Errorf("GET %s: %d %q %q, want %d %q", tc.path, got, out.Error.Code, out.Error.Message, tc.status, tc.code)
		}
	}
}

// TestStreamZoneValidation: zones and lines that cannot be counted are refused with 400 and a sentence, and
// nothing is stored.
func TestStreamZoneValidation(t *testing.T) {
	clip := fakeClip(t, 1, fakeFace{3, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	sq := []facegate.FramePoint{{X: 0, Y: 0}, {X: 1, Y: 0}, {X: 1, Y: 1}}
	many := make([]facegate.Zone, facegate.MaxZones+1)
	for i := range many {
		many[i] = facegate.Zone{Name: strings.Repeat("z", i+1), Points: sq}
	}
	for _, tc := range []struct {
		name  string
		req   any
		code  string
		words string
	}{
		{"two-point polygon", api.StreamRequest{Zones: []facegate.Zone{{Name: "door", Points: sq[:2]}}}, api.CodeBadRequest, "at least 3 points"},
		{"point outside the frame", api.StreamRequest{Zones: []facegate.Zone{{Name: "door", Points: []facegate.FramePoint{{X: 0, Y: 0}, {X: 1920, Y: 0}, {X: 1, Y: 1}}}}}, api.CodeBadRequest, "outside the frame"},
		{"unnamed zone", api.StreamRequest{Zones: []facegate.Zone{{Points: sq}}}, api.CodeBadRequest, "no name"},
		{"too many zones", api.StreamRequest{Zones: many}, api.CodeTooLong, "the limit is 16"},
		{"line of one point", api.StreamRequest{Lines: []facegate.Line{{Name: "gate", From: sq[0], To: sq[0]}}}, api.CodeBadRequest, "same point"},
		{"points as arrays", map[string]any{"name": "hall", "source": clip, "zones": []any{map[string]any{"name": "z", "points": [][]float64{{0, 0}, {1, 0}, {1, 1}}}}}, api.CodeBadRequest, "must be an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r, ok := tc.req.(api.StreamRequest); ok {
				r.Name, r.Source = "hall", clip
				tc.req = r
			}
			var out apiErr
			got := e.json("POST", "/v1/streams", e.admin, tc.req, &out)
			t.Logf("%d %s: %s", got, out.Error.Code, out.Error.Message)
			if got != 400 || out.Error.Code != tc.code || !strings.Contains(out.Error.Message, tc.words) {
				t.Errorf("%d %q %q, want 400 %q saying %q", got, out.Error.Code, out.Error.Message, tc.code, tc.words)
			}
		})
	}
	if n := count(t, e.store, "streams"); n != 0 {
		t.Fatalf("%d streams stored by refused requests", n)
	}
}
