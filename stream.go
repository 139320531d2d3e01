package facegate

import (
	"context"
	"time"
)

// Stream is a configured video source that facegate watches: where the frames come from, how often they are
// analysed, which gallery faces are identified against, and what may be kept. Streams are part of the stored
// configuration and start again when the server restarts.
type Stream struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Source is a video file path, an rtsp:// or rtsps:// URL (TCP transport), an http(s):// URL serving MJPEG
	// (or a stream ffmpeg recognises from its bytes), or device:/dev/videoN for a local camera. Through the
	// API, files must lie in the server's --stream-dirs and HTTP hosts outside its own network unless
	// --allow-private-networks (docs/video.md, "What a stream may reach").
	Source string `json:"source"`
	// Gallery is the ID of the gallery tracks are identified against; "" only detects, tracks and counts.
	Gallery string `json:"gallery,omitempty"`
	// FPS is how many frames per second are analysed (default 5).
	FPS float64 `json:"fps,omitempty"`
	// MaxWidth downscales wider frames to this width before analysis (default 1920; aspect kept).
	MaxWidth int `json:"max_width,omitempty"`
	// MinFace is the smallest face height, in analysed pixels, to look for (default 40).
	MinFace int `json:"min_face,omitempty"`
	// Profile is the detection profile: "" or "default" (faces of 40 px and up, real time at 1080p and 5 fps),
	// or "crowd" (faces down to 12 px, default min face 12; costs several times more per frame, so lower FPS;
	// docs/video.md). engine.ParseProfile checks it.
	Profile string `json:"profile,omitempty"`
	// Loop starts a file source again when it ends; otherwise the stream stops at the end of the file.
	Loop bool `json:"loop,omitempty"`
	// NoRealtime reads a file as fast as analysis allows instead of at its own frame rate (no frame is
	// dropped); for batch processing and tests. Live sources ignore it.
	NoRealtime bool `json:"no_realtime,omitempty"`
	// CropRetentionHours is how long face crops of match events are kept (default 168, seven days; a
	// negative value keeps none). Faces that match nothing are never written to disk.
	CropRetentionHours int `json:"crop_retention_hours,omitempty"`
	// UnknownCrops puts a face crop in unknown-face events (delivered, never stored). Off by default: an
	// unknown-face event carries no biometric data.
	UnknownCrops bool `json:"unknown_crops,omitempty"`
	// CrowdIntervalSeconds is the period of crowd figures (default 60).
	CrowdIntervalSeconds int `json:"crowd_interval_seconds,omitempty"`
	// Webhook, when set, receives every event of the stream as an HMAC-signed POST.
	Webhook *Webhook `json:"webhook,omitempty"`
	// Zones and Lines are where the crowd figures count tracks: in named areas of the frame and across named
	// lines (see Zone, Line; at most MaxZones and MaxLines).
	Zones []Zone `json:"zones,omitempty"`
	Lines []Line `json:"lines,omitempty"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Stream defaults.
const (
	DefaultStreamFPS      = 5.0
	DefaultStreamMaxWidth = 1920
	DefaultCropRetention  = 7 * 24 * time.Hour
	DefaultCrowdInterval  = time.Minute
)

// CropRetention is how long match crops of this stream are kept; 0 means none are kept.
func (s *Stream) CropRetention() time.Duration {
	switch {
	case s.CropRetentionHours < 0:
		return 0
	case s.CropRetentionHours == 0:
		return DefaultCropRetention
	}
	return time.Duration(s.CropRetentionHours) * time.Hour
}

// Webhook is an HTTP endpoint that receives events. Each delivery is a POST of one event as JSON, signed with
// HMAC-SHA256 over the timestamp and the body (see docs/video.md), and retried with backoff until the endpoint
// answers 2xx: delivery is at least once, and the event id lets the receiver drop duplicates.
type Webhook struct {
	URL    string `json:"url"`
	Secret string `json:"secret,omitempty"`
}

// StreamState is where a stream's ingest is.
type StreamState string

// The stream states.
const (
	StreamStarting     StreamState = "starting"     // ffmpeg started, no frame yet
	StreamRunning      StreamState = "running"      // frames arriving
	StreamReconnecting StreamState = "reconnecting" // the source failed or ended; waiting to start again
	StreamEnded        StreamState = "ended"        // a file source reached its end (Loop off)
	StreamStopped      StreamState = "stopped"      // stopped by the server (deleted, shutting down)
)

// StreamStatus is a stream's live state and counters.
type StreamStatus struct {
	State StreamState `json:"state"`
	Since time.Time   `json:"since"`
	// FPSIn is the rate frames arrive from the decoder; FPSAnalysed the rate they are analysed (both over the
	// last few seconds).
	FPSIn       float64 `json:"fps_in"`
	FPSAnalysed float64 `json:"fps_analysed"`
	// FramesIn, FramesAnalysed and FramesDropped count since the stream started; a frame is dropped when a
	// newer one arrives before analysis took it.
	FramesIn       uint64 `json:"frames_in"`
	FramesAnalysed uint64 `json:"frames_analysed"`
	FramesDropped  uint64 `json:"frames_dropped"`
	Reconnects     uint64 `json:"reconnects"`
	Width          int    `json:"width,omitempty"`
	Height         int    `json:"height,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	// FacesInView is the number of faces in the last analysed frame; Tracks the live tracks.
	FacesInView int `json:"faces_in_view"`
	Tracks      int `json:"tracks"`
}

// EventType names a kind of event.
type EventType string

// The event types.
const (
	EventTrackStarted EventType = "track_started"
	EventTrackEnded   EventType = "track_ended"
	EventMatch        EventType = "match"
	EventUnknown      EventType = "unknown_face"
	EventStreamStatus EventType = "stream_status"
	EventCrowd        EventType = "crowd"
)

// EventTypes lists every event type.
var EventTypes = []EventType{EventTrackStarted, EventTrackEnded, EventMatch, EventUnknown, EventStreamStatus, EventCrowd}

// Event is something that happened on a stream. IDs are unique and increase in publication order.
type Event struct {
	ID     string    `json:"id"`
	Type   EventType `json:"type"`
	Time   time.Time `json:"time"`
	Stream string    `json:"stream,omitempty"`
	// Track is the stream-scoped track id of track, match and unknown events.
	Track string `json:"track,omitempty"`
	// SameAs, on a track_ended event, is the earlier track this one was re-linked to: the same face came back
	// within moments (the id of the first track of that person on the stream).
	SameAs string `json:"same_as,omitempty"`
	// DwellSeconds is how long a track was in view (track_ended), or has been so far (match, unknown).
	DwellSeconds float64 `json:"dwell_seconds,omitempty"`
	// Box and Quality describe the best view of the face (match and unknown events).
	Box     *Box     `json:"box,omitempty"`
	Quality *float32 `json:"quality,omitempty"`
	Match   *Match   `json:"match,omitempty"`
	// AlertID names the alert a match against a watchlist raised (AlertNew) or joined: a person must review it.
	// AlertSightings is the alert's sighting count with this one.
	AlertID        string `json:"alert_id,omitempty"`
	AlertNew       bool   `json:"alert_new,omitempty"`
	AlertSightings int    `json:"alert_sightings,omitempty"`
	// Suppressed, on an unknown event, is the rejection that stopped the track's match: the face looked more
	// like a capture a reviewer rejected as "not this person" than like the subject's own photos.
	Suppressed *Suppression `json:"suppressed,omitempty"`
	// Crop is a JPEG of the face: always in match events (unless the stream keeps no crops), in unknown
	// events only when the stream's UnknownCrops is set.
	Crop []byte `json:"crop_jpeg,omitempty"`
	// LatencyMS is, for match and unknown events, the time from the arrival of the frame that decided to the
	// event.
	LatencyMS float64       `json:"latency_ms,omitempty"`
	Status    *StreamStatus `json:"status,omitempty"`
	Crowd     *Crowd        `json:"crowd,omitempty"`
}

// Match is who a track was identified as.
type Match struct {
	Gallery     string  `json:"gallery"`
	Subject     string  `json:"subject"`
	ExternalID  string  `json:"external_id,omitempty"`
	DisplayName string  `json:"display_name,omitempty"`
	Score       float32 `json:"score"`
	Threshold   float64 `json:"threshold"`
}

// Crowd is a stream's crowd figures over one interval: numbers only, nothing about who.
type Crowd struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// FacesMean and FacesMax are the faces in view per analysed frame.
	FacesMean float64 `json:"faces_mean"`
	FacesMax  int     `json:"faces_max"`
	// NewTracks started in the interval; UniquePeople is the distinct people seen: tracks re-linked to an
	// earlier track, identified as the same subject, or whose face templates match (compared in memory, never
	// kept past the interval) count once. See docs/video.md for its error bound.
	NewTracks    int `json:"new_tracks"`
	UniquePeople int `json:"unique_people"`
	// RelinkedTracks are the new tracks found to continue a track that ended moments before (the same face after
	// an occlusion, a missed detection or a step out of the frame); UnembeddedTracks the tracks seen without a
	// face good enough to embed, each counted as a person of its own.
	RelinkedTracks   int `json:"relinked_tracks"`
	UnembeddedTracks int `json:"unembedded_tracks"`
	// Dwell of the tracks that ended in the interval, in seconds.
	EndedTracks      int     `json:"ended_tracks"`
	DwellMeanSeconds float64 `json:"dwell_mean_seconds"`
	DwellMaxSeconds  float64 `json:"dwell_max_seconds"`
	// DwellHistogram buckets the dwell of the tracks that ended in the interval (DwellBucketBounds).
	DwellHistogram []DwellBucket `json:"dwell_histogram,omitempty"`
	// Zones and Lines are the counts of the stream's zones and lines, in their configured order.
	Zones []ZoneCount `json:"zones,omitempty"`
	Lines []LineCount `json:"lines,omitempty"`
	// Heatmap is where the faces of the interval's analysed frames were.
	Heatmap *Heatmap `json:"heatmap,omitempty"`
}

// MatchCrop is a stored face crop of a match event, kept until ExpiresAt.
type MatchCrop struct {
	EventID   string    `json:"event_id"`
	StreamID  string    `json:"stream_id"`
	GalleryID string    `json:"gallery_id"`
	SubjectID string    `json:"subject_id"`
	JPEG      []byte    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StreamStore keeps stream configurations and match crops. The SQLite store implements it.
type StreamStore interface {
	CreateStream(ctx context.Context, s *Stream) error
	Stream(ctx context.Context, id string) (*Stream, error)
	// Streams lists the streams; those whose configuration does not open or parse are left out and listed in a
	// *BadRowsError returned with the others.
	Streams(ctx context.Context) ([]Stream, error)
	UpdateStream(ctx context.Context, s *Stream) error
	DeleteStream(ctx context.Context, id string) error

	AddMatchCrop(ctx context.Context, c *MatchCrop) error
	MatchCrop(ctx context.Context, eventID string) (*MatchCrop, error)
	// MatchCropsOf lists the crops kept of a subject's matches, oldest first (a data-subject export).
	MatchCropsOf(ctx context.Context, galleryID, subjectID string) ([]MatchCrop, error)
	// DeleteExpiredCrops deletes the crops whose ExpiresAt is not after now and returns how many.
	DeleteExpiredCrops(ctx context.Context, now time.Time) (int, error)
}
