package server_test

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/server"
)

// TestAttackCrowdHistoryHoldsSlots replays the review of issue 13: a heatmap sums up to 20,000 stored intervals
// (3.3 s of CPU with 16 zones and 16 lines each) and a crowd page parses up to 1,000, and an operator key could
// run as many at once as it sent (40 in a burst: minutes of both cores), outside the analysis slots. Now both
// routes take a slot of the key's share: with the key's one slot held, its crowd requests wait in its waiting
// room (8), the rest are refused at once with 503 busy, another key is served at once, and the waiting ones are
// answered when the slot frees.
func TestAttackCrowdHistoryHoldsSlots(t *testing.T) {
	clip := fakeClip(t, 1, fakeFace{3, 0, 100})
	slow := &slowAnalyser{release: make(chan struct{}), stopsOnCtx: true}
	e := newEnv(t, server.Config{Engine: slow, MaxAnalyses: 2, RequestTimeout: 20 * time.Second, StreamDirs: []string{filepath.Dir(clip)}})
	ctx := t.Context()
	c := e.client(e.admin)
	info, err := c.CreateStream(ctx, api.StreamRequest{Name: "hall", Source: clip, NoRealtime: true})
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		from := day.Add(time.Duration(i) * time.Minute)
		if err := e.store.AddCrowd(ctx, &facegate.CrowdRecord{Stream: info.ID, Crowd: facegate.Crowd{From: from, To: from.Add(time.Minute), Heatmap: facegate.NewHeatmap()}}); err != nil {
			t.Fatal(err)
		}
	}
	newOperator := func(name string) string {
		k, err := c.CreateKey(ctx, name, facegate.RoleOperator)
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	flooder, other := newOperator("flooder"), newOperator("other")
	// The flooding key's one slot (MaxAnalyses 2: a share of 1) is held by a slow analysis.
	held, stop := context.WithCancel(ctx)
	defer stop()
	go e.detectCall(held, flooder, fakePhoto(t, fakeFace{id: 7, cos: 100}), engine.MinFaceFloor)
	waitFor(t, "the flooding key's analysis to start", func() bool { return slow.running.Load() == 1 })

	const sent, waiting = 12, 8
	routes := []string{"/heatmap", "/heatmap?format=png", "/crowd?limit=1000"}
	statuses := make(chan int, sent)
	var wg sync.WaitGroup
	for i := range sent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- e.do("GET", "/v1/streams/"+info.ID+routes[i%len(routes)], flooder, "", nil, nil)
		}()
	}
	for range sent - waiting {
		select {
		case st := <-statuses:
			if st != http.StatusServiceUnavailable {
				t.Errorf("a crowd request over the key's waiting room: %d, want 503 busy", st)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("crowd requests over the key's waiting room were not refused at once")
		}
	}
	select {
	case st := <-statuses:
		t.Fatalf("a crowd request answered %d while the key's slot was held, want it to wait", st)
	case <-time.After(300 * time.Millisecond):
	}
	var hm api.StreamHeatmap
	start := time.Now()
	if st := e.json("GET", "/v1/streams/"+info.ID+"/heatmap", other, nil, &hm); st != 200 || hm.Intervals < 3 {
		t.Fatalf("another key's heatmap during the flood: %d %+v", st, hm)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("another key waited %v for its heatmap", took)
	}
	close(slow.release)
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != 200 {
			t.Errorf("a waiting crowd request answered %d once the slot was free, want 200", st)
		}
	}
}
