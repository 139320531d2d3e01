package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/server"
)

// runToEnd creates a stream and waits until its file source has ended.
func runToEnd(ctx context.Context, t *testing.T, c *api.Client, req api.StreamRequest) *api.StreamInfo {
	t.Helper()
	info, err := c.CreateStream(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for {
		st, err := c.Stream(ctx, info.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status.State == facegate.StreamEnded {
			return info
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the stream did not end: %+v", st.Status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestCrowdHistory runs a fake clip through a stream (its crowd events go through the server's publish path),
// then sweeps the in-memory events away: the heatmap and the crowd list still answer from the stored history,
// page by page, until the crowd retention deletes it; deleting the stream deletes its history.
func TestCrowdHistory(t *testing.T) {
	clip := fakeClip(t, 3, fakeFace{3, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	c := e.client(e.admin)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	op, err := c.CreateKey(ctx, "operator", facegate.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	oc := e.client(op.Secret)
	info := runToEnd(ctx, t, c, api.StreamRequest{Name: "hall", Source: clip, FPS: 5, NoRealtime: true, CrowdIntervalSeconds: 1,
		Zones: []facegate.Zone{{Name: "left", Points: []facegate.FramePoint{{X: 0, Y: 0}, {X: 0.5, Y: 0}, {X: 0.5, Y: 1}, {X: 0, Y: 1}}}}})
	evs, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}, Types: []facegate.EventType{facegate.EventCrowd}}, 1000)
	if err != nil || len(evs) < 2 {
		t.Fatalf("%d crowd events (%v), want several at 1 s intervals over 3 s", len(evs), err)
	}
	faceFrames := 0
	for _, ev := range evs {
		faceFrames += ev.Crowd.Heatmap.Total()
	}

	// Two days later the events are gone from memory (24 h event retention); the history is not.
	res, err := e.srv.Sweep(ctx, time.Now().Add(48*time.Hour))
	if err != nil || res.Events == 0 || res.Crowds != 0 {
		t.Fatalf("sweep two days later: %+v %v", res, err)
	}
	if left, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}}, 1000); err != nil || len(left) != 0 {
		t.Fatalf("%d events still in memory after the event retention (%v)", len(left), err)
	}
	hm, err := oc.StreamHeatmap(ctx, info.ID, evs[0].Crowd.From.Add(-time.Hour), time.Time{})
	if err != nil || hm.Intervals != len(evs) || hm.Total != faceFrames || hm.Total < 10 {
		t.Fatalf("heatmap from the history: %d intervals, total %d, want %d and %d (%v)", hm.Intervals, hm.Total, len(evs), faceFrames, err)
	}
	if hm.From == nil || !hm.From.Equal(evs[0].Crowd.From) || !hm.To.Equal(evs[len(evs)-1].Crowd.To) {
		t.Errorf("heatmap span %v..%v, want %v..%v", hm.From, hm.To, evs[0].Crowd.From, evs[len(evs)-1].Crowd.To)
	}
	all, err := oc.StreamCrowds(ctx, info.ID, time.Time{}, time.Time{}, 0)
	if err != nil || len(all.Intervals) != len(evs) || all.More || all.Stream != info.ID {
		t.Fatalf("crowd list: %d intervals (more %v), want %d (%v)", len(all.Intervals), all.More, len(evs), err)
	}
	for i, got := range all.Intervals {
		want := evs[i].Crowd
		if !got.From.Equal(want.From) || !got.To.Equal(want.To) || got.FacesMax != want.FacesMax || got.NewTracks != want.NewTracks ||
			len(got.Zones) != 1 || got.Zones[0] != want.Zones[0] || got.Heatmap.Total() != want.Heatmap.Total() {
			t.Errorf("interval %d: %+v, want %+v", i, got, *want)
		}
	}
	// Paging: limit 1 says more; asking again from the last interval's end gives the next.
	first, err := oc.StreamCrowds(ctx, info.ID, time.Time{}, time.Time{}, 1)
	if err != nil || len(first.Intervals) != 1 || !first.More {
		t.Fatalf("limit 1: %+v %v", first, err)
	}
	next, err := oc.StreamCrowds(ctx, info.ID, first.Intervals[0].To, time.Time{}, 1)
	if err != nil || len(next.Intervals) != 1 || !next.Intervals[0].From.Equal(evs[1].Crowd.From) {
		t.Fatalf("the next page: %+v %v, want the interval from %v", next, err, evs[1].Crowd.From)
	}

	// Past the crowd retention (90 days) the sweep deletes the history.
	res, err = e.srv.Sweep(ctx, evs[len(evs)-1].Crowd.To.Add(facegate.DefaultCrowdRetention))
	if err != nil || res.Crowds != len(evs) {
		t.Fatalf("sweep past the crowd retention: %+v %v, want %d crowds deleted", res, err, len(evs))
	}
	if hm, err := oc.StreamHeatmap(ctx, info.ID, time.Time{}, time.Time{}); err != nil || hm.Intervals != 0 || hm.Total != 0 {
		t.Fatalf("heatmap after the retention: %+v %v", hm, err)
	}
	// A stream's history goes with it.
	if err := e.store.AddCrowd(ctx, &facegate.CrowdRecord{Stream: info.ID, Crowd: *evs[0].Crowd}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteStream(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, e.store, "crowds"); n != 0 {
		t.Fatalf("%d crowd intervals left after the stream was deleted", n)
	}
}

// TestCrowdHistoryErrors: bad periods and limits, a period holding more intervals than a heatmap sums, unknown
// streams, missing keys and device keys are refused plainly, with a code and a sentence.
func TestCrowdHistoryErrors(t *testing.T) {
	clip := fakeClip(t, 1, fakeFace{3, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}, MaxCrowdIntervals: 3})
	ctx := context.Background()
	c := e.client(e.admin)
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "hall", Source: clip, NoRealtime: true})
	if err != nil {
		t.Fatal(err)
	}
	dev, err := c.CreateKey(ctx, "door", facegate.RoleDevice)
	if err != nil {
		t.Fatal(err)
	}
	// Four intervals of a day in 2025: one more than a heatmap may sum.
	day := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	for i := range 4 {
		h := facegate.NewHeatmap()
		h.Cells[0] = 1
		from := day.Add(time.Duration(i) * time.Minute)
		if err := e.store.AddCrowd(ctx, &facegate.CrowdRecord{Stream: info.ID, Crowd: facegate.Crowd{From: from, To: from.Add(time.Minute), Heatmap: h}}); err != nil {
			t.Fatal(err)
		}
	}
	period := func(from, to time.Time) string {
		return "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))
	}
	wholeDay, threeMinutes := period(day, day.Add(24*time.Hour)), period(day, day.Add(3*time.Minute))
	var hm api.StreamHeatmap
	if got := e.json("GET", "/v1/streams/"+info.ID+"/heatmap?"+threeMinutes, e.admin, nil, &hm); got != 200 || hm.Intervals != 3 || hm.Total != 3 {
		t.Fatalf("heatmap of three intervals: %d %+v", got, hm)
	}
	for _, route := range []string{"heatmap", "crowd"} {
		base := "/v1/streams/" + info.ID + "/" + route
		for _, tc := range []struct {
			path, key string
			status    int
			code      string
			words     string
		}{
			{base + "?from=yesterday", e.admin, 400, api.CodeBadRequest, "from must be an RFC 3339 time"},
			{base + "?to=2026-13-01T00:00:00Z", e.admin, 400, api.CodeBadRequest, "to must be an RFC 3339 time"},
			{base + "?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", e.admin, 400, api.CodeBadRequest, "to must be after from"},
			{base + "?from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", e.admin, 400, api.CodeBadRequest, "to must be after from"},
			{"/v1/streams/nope/" + route, e.admin, 404, api.CodeNotFound, "no stream"},
			{base, "", 401, api.CodeUnauthorized, ""},
			{base, dev.Secret, 403, api.CodeForbidden, ""},
		} {
			var out apiErr
			if got := e.json("GET", tc.path, tc.key, nil, &out); got != tc.status || out.Error.Code != tc.code || !strings.Contains(out.Error.Message, tc.words) || out.Error.Message == "" {
				t.Errorf("GET %s: %d %q %q, want %d %q saying %q", tc.path, got, out.Error.Code, out.Error.Message, tc.status, tc.code, tc.words)
			}
		}
	}
	base := "/v1/streams/" + info.ID
	for _, tc := range []struct {
		path, code, words string
	}{
		{base + "/heatmap?" + wholeDay, api.CodePeriodTooLong, "narrow from and to"},
		{base + "/heatmap?" + wholeDay + "&format=png", api.CodePeriodTooLong, "more than 3 crowd intervals"},
		{base + "/heatmap", api.CodePeriodTooLong, "narrow from and to"},
		{base + "/crowd?limit=0", api.CodeBadRequest, "limit must be 1..1000"},
		{base + "/crowd?limit=1001", api.CodeBadRequest, "limit must be 1..1000"},
		{base + "/crowd?limit=ten", api.CodeBadRequest, "limit must be 1..1000"},
	} {
		var out apiErr
		if got := e.json("GET", tc.path, e.admin, nil, &out); got != 400 || out.Error.Code != tc.code || !strings.Contains(out.Error.Message, tc.words) {
			t.Errorf("GET %s: %d %q %q, want 400 %q saying %q", tc.path, got, out.Error.Code, out.Error.Message, tc.code, tc.words)
		}
	}
	// The crowd list is bounded by its limit, not by the heatmap's: all four of the day, oldest first.
	var list api.StreamCrowds
	if got := e.json("GET", base+"/crowd?"+wholeDay+"&limit=1000", e.admin, nil, &list); got != 200 || len(list.Intervals) != 4 || list.More ||
		!list.Intervals[0].From.Equal(day) || !list.Intervals[3].From.Equal(day.Add(3*time.Minute)) {
		t.Fatalf("crowd list of the day: %d %+v", got, list)
	}
	if got := e.json("GET", base+"/crowd?"+wholeDay+"&limit=2", e.admin, nil, &list); got != 200 || len(list.Intervals) != 2 || !list.More {
		t.Fatalf("crowd list, limit 2: %d %d intervals, more %v", got, len(list.Intervals), list.More)
	}
}

// TestCrowdStoreFailure: when the store refuses a crowd interval (here its stream's row was deleted behind the
// server's back, so the insert breaks the foreign key), the event is still delivered and the failure is counted
// in facegate_crowd_unstored_total.
func TestCrowdStoreFailure(t *testing.T) {
	clip := fakeClip(t, 2, fakeFace{2, 0, 100})
	e := newEnv(t, server.Config{StreamDirs: []string{filepath.Dir(clip)}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.client(e.admin)
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "hall", Source: clip, FPS: 5, CrowdIntervalSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.DeleteStream(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	for {
		evs, err := c.RecentEvents(ctx, api.EventFilter{Streams: []string{info.ID}, Types: []facegate.EventType{facegate.EventCrowd}}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) > 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no crowd event was delivered")
		case <-time.After(50 * time.Millisecond):
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `facegate_crowd_unstored_total{stream="` + info.ID + `"} `; !strings.Contains(string(body), want) {
		t.Fatalf("metrics lack %s", want)
	}
	if n := count(t, e.store, "crowds"); n != 0 {
		t.Fatalf("%d crowd intervals stored for a stream that is gone", n)
	}
}
