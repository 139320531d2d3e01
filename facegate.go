// Package facegate holds the domain types shared by every part of facegate: faces found in an image, their
// landmarks, quality and attributes, and the templates that identify them. The engine produces them; the CLI,
// the evaluation harness and (later) the server consume them. Backends live in their own packages.
package facegate

import "math"

// Version is the facegate release; the build may override it with -ldflags "-X github.com/facegate/facegate.Version=...".
var Version = "0.1.0-dev"

// TemplateDim is the length of a face template (embedding).
const TemplateDim = 512

// Point is a position in image pixels.
type Point struct {
	X float32 `json:"x"`
	Y float32 `json:"y"`
}

// Box is an axis-aligned face box in image pixels: (X1,Y1) top-left, (X2,Y2) bottom-right.
type Box struct {
	X1 float32 `json:"x1"`
	Y1 float32 `json:"y1"`
	X2 float32 `json:"x2"`
	Y2 float32 `json:"y2"`
}

// W is the box width.
func (b Box) W() float32 { return b.X2 - b.X1 }

// H is the box height.
func (b Box) H() float32 { return b.Y2 - b.Y1 }

// Pose is head pose in degrees: yaw (left/right turn, positive = the face turned to its left, i.e. towards the
// image's right), pitch (positive = looking up) and roll (in-plane tilt, positive = clockwise in the image).
type Pose struct {
	Yaw   float32 `json:"yaw"`
	Pitch float32 `json:"pitch"`
	Roll  float32 `json:"roll"`
}

// Quality describes how useful a face is for recognition.
type Quality struct {
	// Size is the face height in pixels (box height); InterEye the distance between the eye centres in pixels.
	Size     float32 `json:"size"`
	InterEye float32 `json:"inter_eye"`
	// Sharpness is 0 (blurred) .. 1 (sharp), from the Laplacian energy of the aligned face.
	Sharpness float32 `json:"sharpness"`
	// Brightness is the mean luminance of the aligned face, 0 (black) .. 1 (white).
	Brightness float32 `json:"brightness"`
	// Contrast is the standard deviation of the aligned face's luminance, 0..0.5.
	Contrast float32 `json:"contrast"`
	Pose     Pose    `json:"pose"`
	// LeftEyeOpen and RightEyeOpen are probabilities that the subject's left / right eye is open.
	LeftEyeOpen  float32 `json:"left_eye_open"`
	RightEyeOpen float32 `json:"right_eye_open"`
	// Score combines the above into 0 (useless) .. 1 (ideal enrolment photo). See docs/quality.md.
	Score float32 `json:"score"`
	// Issues lists what lowered the score, as machine-readable codes (e.g. "too_small", "blurred", "dark").
	Issues []string `json:"issues,omitempty"`
}

// Expression labels, in the order of the expression model's outputs.
var Expressions = []string{"angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"}

// Attributes are inferences that a deployment must switch on explicitly. A nil field was not requested.
type Attributes struct {
	Age        *float32  `json:"age,omitempty"`
	Gender     string    `json:"gender,omitempty"`      // "female" or "male"
	GenderProb *float32  `json:"gender_prob,omitempty"` // confidence in Gender, 0.5..1
	Expression string    `json:"expression,omitempty"`  // one of Expressions
	ExprProbs  []float32 `json:"expression_probs,omitempty"`
	// Live is the liveness verdict and LiveScore its probability that the face is a live person rather than a
	// print or a replayed screen.
	Live      *bool    `json:"live,omitempty"`
	LiveScore *float32 `json:"live_score,omitempty"`
}

// Face is one face found in an image.
type Face struct {
	Box        Box         `json:"box"`
	Score      float32     `json:"score"`
	Landmarks  []Point     `json:"landmarks"` // 68 points, iBUG 300-W order
	Points5    [5]Point    `json:"points5"`   // left eye, right eye, nose tip, left and right mouth corner (image left/right)
	Quality    Quality     `json:"quality"`
	Attributes *Attributes `json:"attributes,omitempty"`
	Template   []float32   `json:"-"` // unit-length TemplateDim vector, when embedded
}

// Similarity is the cosine similarity of two unit-length templates, in [-1, 1].
func Similarity(a, b []float32) float32 {
	if len(a) != len(b) || len(a) == 0 {
		return float32(math.NaN())
	}
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
