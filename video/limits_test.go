package video_test

import (
	"errors"
	"testing"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/testutil"
	"github.com/facegate/facegate/video"
)

// TestMinFaceBelowFloorRefused: a stream's min_face is held to the engine's floor (issue 12) when the pipeline
// starts, so a stream stored before the floor existed fails with that reason instead of failing every frame.
func TestMinFaceBelowFloorRefused(t *testing.T) {
	_, err := video.New(video.Config{Engine: testutil.Engine(t), Publish: func(ev facegate.Event) facegate.Event { return ev },
		Stream: facegate.Stream{ID: "s", Name: "cam", Source: "clip.mp4", MinFace: engine.MinFaceFloor - 1}})
	if !errors.Is(err, engine.ErrMinFaceTooSmall) {
		t.Fatalf("min face %d: %v, want ErrMinFaceTooSmall", engine.MinFaceFloor-1, err)
	}
}

// TestUnknownProfileRefused: a stream's profile must be one engine.ParseProfile knows; the pipeline refuses any
// other when it starts, before opening the source.
func TestUnknownProfileRefused(t *testing.T) {
	_, err := video.New(video.Config{Engine: testutil.Engine(t), Publish: func(ev facegate.Event) facegate.Event { return ev },
		Stream: facegate.Stream{ID: "s", Name: "cam", Source: "clip.mp4", Profile: "fast"}})
	if !errors.Is(err, engine.ErrUnknownProfile) {
		t.Fatalf("profile fast: %v, want ErrUnknownProfile", err)
	}
}
