package recognize

import (
	"fmt"
	"strings"

	"github.com/facegate/facegate"
)

// EnrolOptions is the enrolment quality gate. DefaultEnrolOptions: exactly one face, at least 60 px high,
// quality score at least 0.4, sharpness at least 0.2, |yaw| <= 30, |pitch| <= 25, eyes open, liveness not
// required.
type EnrolOptions struct {
	// TakeLargest enrols the most prominent face of a photo with several (instead of refusing it).
	TakeLargest  bool    `json:"take_largest"`
	MinSize      float32 `json:"min_size"`
	MinQuality   float32 `json:"min_quality"`
	MinSharpness float32 `json:"min_sharpness"`
	MaxYaw       float32 `json:"max_yaw"`
	MaxPitch     float32 `json:"max_pitch"`
	AllowClosed  bool    `json:"allow_eyes_closed"`
	RequireLive  bool    `json:"require_live"`
	// AllowDuplicate enrols a face that already matches another subject of the gallery.
	AllowDuplicate bool `json:"allow_duplicate"`
}

// DefaultEnrolOptions is the gate a request gets unless it changes a field.
func DefaultEnrolOptions() EnrolOptions {
	return EnrolOptions{MinSize: 60, MinQuality: 0.4, MinSharpness: 0.2, MaxYaw: 30, MaxPitch: 25}
}

// Enrolment refusal codes that are not quality reasons.
const (
	CodeNoFace        = "no_face"
	CodeMultipleFaces = "multiple_faces"
)

// ChooseFace picks the face to enrol among the faces found in one photo (primary is the index of the most
// prominent one: the largest, discounted by its distance from the centre). It refuses a photo without a face, and
// one with several unless o.TakeLargest.
func ChooseFace(faces []facegate.Face, primary int, o EnrolOptions) (int, *facegate.Rejection) {
	switch {
	case len(faces) == 0:
		return -1, &facegate.Rejection{Code: CodeNoFace, Message: "no face was found in the image"}
	case len(faces) > 1 && !o.TakeLargest:
		return -1, &facegate.Rejection{Code: CodeMultipleFaces, Message: fmt.Sprintf("%d faces in the image: send a photo of one person, or enrol the largest face (take_largest)", len(faces))}
	}
	return primary, nil
}

// Gate applies the quality gate to the face chosen for enrolment and returns the reasons for refusing it, if
// any.
func Gate(f facegate.Face, o EnrolOptions) []facegate.Rejection {
	var out []facegate.Rejection
	q := f.Quality
	if q.Size < o.MinSize {
		out = append(out, facegate.Rejection{Code: "too_small", Message: fmt.Sprintf("face is %.0f px high, minimum %.0f", q.Size, o.MinSize)})
	}
	if q.Sharpness < o.MinSharpness {
		out = append(out, facegate.Rejection{Code: "blurred", Message: fmt.Sprintf("sharpness %.2f, minimum %.2f", q.Sharpness, o.MinSharpness)})
	}
	if q.Score < o.MinQuality {
		msg := fmt.Sprintf("quality %.2f, minimum %.2f", q.Score, o.MinQuality)
		if len(q.Issues) > 0 {
			msg += " (issues: " + strings.Join(q.Issues, ", ") + ")"
		}
		out = append(out, facegate.Rejection{Code: "low_quality", Message: msg})
		// The image problems behind a low score are reasons of their own, so a client can tell the user what
		// to fix. They do not reject a face whose score passes.
		for _, iss := range q.Issues {
			if (iss == "blurred" && q.Sharpness >= o.MinSharpness) || iss == "dark" || iss == "overexposed" {
				out = append(out, facegate.Rejection{Code: iss, Message: "image quality issue: " + iss})
			}
		}
	}
	if abs32(q.Pose.Yaw) > o.MaxYaw {
		out = append(out, facegate.Rejection{Code: "pose_yaw", Message: fmt.Sprintf("yaw %.0f degrees, maximum %.0f", q.Pose.Yaw, o.MaxYaw)})
	}
	if abs32(q.Pose.Pitch) > o.MaxPitch {
		out = append(out, facegate.Rejection{Code: "pose_pitch", Message: fmt.Sprintf("pitch %.0f degrees, maximum %.0f", q.Pose.Pitch, o.MaxPitch)})
	}
	if !o.AllowClosed && min(q.LeftEyeOpen, q.RightEyeOpen) < 0.5 {
		out = append(out, facegate.Rejection{Code: "eyes_closed", Message: "an eye appears closed"})
	}
	if o.RequireLive && f.Attributes != nil && f.Attributes.Live != nil && !*f.Attributes.Live {
		score := float32(0)
		if f.Attributes.LiveScore != nil {
			score = *f.Attributes.LiveScore
		}
		out = append(out, facegate.Rejection{Code: "not_live", Message: fmt.Sprintf("liveness score %.2f: looks like a print or a screen", score)})
	}
	return out
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
