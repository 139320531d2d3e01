package api

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/facegate/facegate"
)

// Duplicate is another subject of the gallery that a face to be enrolled already matches (409
// possible_duplicate, in details.duplicates).
type Duplicate struct {
	SubjectID   string  `json:"subject_id"`
	ExternalID  string  `json:"external_id,omitempty"`
	DisplayName string  `json:"display_name,omitempty"`
	Score       float32 `json:"score"`
}

// AlertView is an alert as the review queue shows it: with the names of the person, gallery, stream and
// reviewer, and the enrolled face to show beside the capture.
type AlertView struct {
	facegate.Alert
	SubjectDisplayName string `json:"subject_display_name,omitempty"`
	SubjectExternalID  string `json:"subject_external_id,omitempty"`
	GalleryName        string `json:"gallery_name,omitempty"`
	StreamName         string `json:"stream_name,omitempty"`
	ReviewedByName     string `json:"reviewed_by_name,omitempty"`
	// ReferenceFaceID is the subject's enrolled face (the best one by quality) whose thumbnail is the reference
	// photo.
	ReferenceFaceID string `json:"reference_face_id,omitempty"`
}

// AlertList is GET /v1/alerts.
type AlertList struct {
	Alerts []AlertView `json:"alerts"`
}

// BulkReviewRequest is POST /v1/alerts/review: one decision for up to 100 alerts.
type BulkReviewRequest struct {
	IDs      []string `json:"ids"`
	Decision string   `json:"decision"`
	Note     string   `json:"note,omitempty"`
}

// BulkReviewResult is one alert's outcome in a bulk review: the reviewed alert, or why it was not reviewed.
type BulkReviewResult struct {
	ID    string     `json:"id"`
	Alert *AlertView `json:"alert,omitempty"`
	Error *Error     `json:"error,omitempty"`
}

// BulkReviewResponse is the response of POST /v1/alerts/review.
type BulkReviewResponse struct {
	Results []BulkReviewResult `json:"results"`
}

// Crop states in AlertMedia.
const (
	CropKept = "kept" // the crop is in the response
	CropGone = "gone" // no crop is kept: deleted after the stream's crop retention, or never stored
	CropNone = "none" // the alert was raised by a search, whose probe image is never kept
)

// AlertMedia is what the review queue shows of one alert: the capture and the enrolled reference, as JPEG bytes
// (base64 in JSON).
type AlertMedia struct {
	Crop            []byte `json:"crop,omitempty"`
	CropState       string `json:"crop_state"`
	Reference       []byte `json:"reference,omitempty"`
	ReferenceFaceID string `json:"reference_face_id,omitempty"`
}

// AlertMediaResponse is GET /v1/alerts/media?ids=...: one request for a whole page of the review queue.
type AlertMediaResponse struct {
	Media map[string]AlertMedia `json:"media"`
}

// RejectionView is one remembered "not this person" of a subject (GET .../subjects/{s}/rejections).
type RejectionView struct {
	ID             string    `json:"id"`
	AlertID        string    `json:"alert_id"`
	CreatedAt      time.Time `json:"created_at"`
	ExpiresAt      time.Time `json:"expires_at"`
	ReviewedBy     string    `json:"reviewed_by,omitempty"`
	ReviewedByName string    `json:"reviewed_by_name,omitempty"`
	Note           string    `json:"note,omitempty"`
	Score          float32   `json:"score"`
}

// RejectionList is GET .../subjects/{s}/rejections.
type RejectionList struct {
	Rejections []RejectionView `json:"rejections"`
}

// OverdueEntry is a watchlist entry past its review date.
type OverdueEntry struct {
	GalleryID   string           `json:"gallery_id"`
	GalleryName string           `json:"gallery_name"`
	Subject     facegate.Subject `json:"subject"`
}

// OverdueList is GET /v1/watchlist/overdue.
type OverdueList struct {
	Entries []OverdueEntry `json:"entries"`
}

// ExpireOverdueResponse is POST /v1/watchlist/overdue/expire: the entries erased.
type ExpireOverdueResponse struct {
	Erased []OverdueEntry `json:"erased"`
}

// AlertsWhere lists watchlist alerts matching f (ids of gallery, stream and subject), newest sighting first.
func (c *Client) AlertsWhere(ctx context.Context, f facegate.AlertFilter) ([]AlertView, error) {
	q := url.Values{}
	for k, v := range map[string]string{"status": string(f.Status), "gallery": f.GalleryID, "stream": f.StreamID, "subject": f.SubjectID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out AlertList
	_, err := c.do(ctx, "GET", "/v1/alerts", q, nil, &out)
	return out.Alerts, err
}

// ReviewAlerts applies one decision ("confirm" or "reject") to several alerts.
func (c *Client) ReviewAlerts(ctx context.Context, ids []string, decision, note string) ([]BulkReviewResult, error) {
	b, err := jsonBody(BulkReviewRequest{IDs: ids, Decision: decision, Note: note})
	if err != nil {
		return nil, err
	}
	var out BulkReviewResponse
	_, err = c.do(ctx, "POST", "/v1/alerts/review", nil, b, &out)
	return out.Results, err
}

// AlertMedia fetches the captures and reference photos of several alerts in one request.
func (c *Client) AlertMedia(ctx context.Context, ids []string) (map[string]AlertMedia, error) {
	var out AlertMediaResponse
	_, err := c.do(ctx, "GET", "/v1/alerts/media", url.Values{"ids": {strings.Join(ids, ",")}}, nil, &out)
	return out.Media, err
}

// Rejections lists a subject's remembered "not this person" rejections.
func (c *Client) Rejections(ctx context.Context, gallery, subject string) ([]RejectionView, error) {
	var out RejectionList
	_, err := c.do(ctx, "GET", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/rejections", nil, nil, &out)
	return out.Rejections, err
}

// UndoRejection forgets one rejection of a subject.
func (c *Client) UndoRejection(ctx context.Context, gallery, subject, id string) error {
	_, err := c.do(ctx, "DELETE", "/v1/galleries/"+esc(gallery)+"/subjects/"+esc(subject)+"/rejections/"+esc(id), nil, nil, nil)
	return err
}

// OverdueWatch lists watchlist entries past their review date (gallery "": every watchlist).
func (c *Client) OverdueWatch(ctx context.Context, gallery string) ([]OverdueEntry, error) {
	q := url.Values{}
	if gallery != "" {
		q.Set("gallery", gallery)
	}
	var out OverdueList
	_, err := c.do(ctx, "GET", "/v1/watchlist/overdue", q, nil, &out)
	return out.Entries, err
}
