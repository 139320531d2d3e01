package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/draw"
	"github.com/facegate/facegate/internal/imgio"
)

// imageResult is the JSON shape of one analysed image.
type imageResult struct {
	File   string          `json:"file"`
	Format string          `json:"format,omitempty"`
	Width  int             `json:"width,omitempty"`
	Height int             `json:"height,omitempty"`
	Faces  []facegate.Face `json:"faces"`
	// FacesFound, FacesTruncated and MinFaceUsed are the engine's Report, as in the API's detect response.
	FacesFound     int        `json:"faces_found"`
	FacesTruncated bool       `json:"faces_truncated"`
	MinFaceUsed    int        `json:"min_face_used,omitempty"`
	Error          *errorJSON `json:"error,omitempty"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func runDetect(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "detect", `detect [--json] [--draw OUT] [--attributes LIST] [--min-face N] [--max-faces N] IMAGE|FOLDER...

Finds the faces of each image. A FOLDER stands for the image files directly inside it (.jpg .jpeg .png .gif
.webp .bmp .pgm .ppm .pnm, by name; subfolders and hidden files are not read); its other files are skipped with
one line each on stderr. A file that cannot be read is named on stderr with its problem ("README.txt: not an
image"); the exit status is 1 when any image could not be analysed or a folder holds no image.`)
	c.register(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table (an array, or one object for a single IMAGE)")
	drawOut := fs.String("draw", "", "write the image with boxes, landmarks and labels to OUT (.png or .jpg); with several images or a folder OUT is a folder")
	attrs := fs.String("attributes", "", "comma-separated optional inferences: age, gender, expression, liveness, all")
	minFace := fs.Int("min-face", engine.DefaultMinFace, fmt.Sprintf("smallest face height to look for, in pixels (at least %d; raised, and said so, where a large image would need more than %d detector runs)", engine.MinFaceFloor, engine.DefaultMaxDetectorRuns))
	maxFaces := fs.Int("max-faces", engine.DefaultMaxFaces, "analyse at most this many faces per image, the largest")
	thresh := fs.Float64("det-threshold", engine.DefaultDetThreshold, "detector confidence threshold")
	profileName := fs.String("profile", "default", profileUsage)
	args, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usagef("no image given")
	}
	want, err := engine.ParseAttributes(splitList(*attrs))
	if err != nil {
		return usageError{err.Error()}
	}
	if *minFace < engine.MinFaceFloor {
		return usagef("--min-face must be at least %d pixels", engine.MinFaceFloor)
	}
	if *maxFaces < 1 {
		return usagef("--max-faces must be at least 1")
	}
	profile, err := parseProfile(fs, *profileName, map[string]*int{"min-face": minFace, "max-faces": maxFaces})
	if err != nil {
		return err
	}
	inputs, folders := detectInputs(args, func(path, why string) {
		fmt.Fprintf(env.Stderr, "facegate detect: %s: %s (skipped)\n", path, why)
	})
	single := len(args) == 1 && !folders
	if *drawOut != "" && !single {
		if err := os.MkdirAll(*drawOut, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", *drawOut, err)
		}
	}
	e, _, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()

	results := []imageResult{}
	failed := 0
	for _, in := range inputs {
		file := in.file
		res := imageResult{File: file, Faces: []facegate.Face{}}
		var img *imgio.Image
		err := in.err
		if err == nil {
			var info imgio.Info
			img, info, err = imgio.DecodeFile(file, imgio.DefaultLimits)
			if err == nil {
				res.Format, res.Width, res.Height = string(info.Format), img.W, img.H
				var rep engine.Report
				res.Faces, err = e.Analyze(env.Ctx, img, engine.Options{MinFaceSize: *minFace, Threshold: *thresh, Attributes: want,
					MaxFaces: *maxFaces, Profile: profile, Report: &rep})
				res.FacesFound, res.FacesTruncated, res.MinFaceUsed = rep.FacesFound, rep.Truncated, rep.MinFaceUsed
				if err == nil && !*asJSON {
					reportLimits(env, file, rep, *minFace, profile)
				}
			}
		}
		if err != nil {
			failed++
			code := errorCode(err)
			if in.err != nil && in.code != "" {
				code = in.code
			}
			res.Error = &errorJSON{Code: code, Message: problem(err)}
			if !*asJSON {
				fmt.Fprintf(env.Stderr, "facegate detect: %s\n", fileErr(file, err))
			}
			results = append(results, res)
			continue
		}
		if *drawOut != "" {
			out := *drawOut
			if !single {
				out = filepath.Join(*drawOut, strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))+".jpg")
			}
			if err := draw.SaveAnnotated(out, img, res.Faces); err != nil {
				return err
			}
		}
		results = append(results, res)
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		var v any = results
		if single && len(results) == 1 {
			v = results[0]
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printTable(env, results)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be analysed", failed, len(inputs))
	}
	return nil
}

// detectInput is one image detect reads, or (err set) a failure found while listing a folder.
type detectInput struct {
	file string
	err  error
	code string // errorCode for err when errorCode cannot tell
}

// errNoImages is a folder without image files.
var errNoImages = errors.New("no image files in the folder")

// detectInputs expands the command line: a file stays as it is; a folder becomes the image files directly
// inside it, sorted by name, each other file being reported to skip (hidden files and subfolders are passed
// over). folders reports whether any argument was a folder.
func detectInputs(args []string, skip func(path, why string)) (inputs []detectInput, folders bool) {
	for _, arg := range args {
		st, err := os.Stat(arg)
		if err != nil || !st.IsDir() {
			inputs = append(inputs, detectInput{file: arg}) // DecodeFile reports what is wrong with it
			continue
		}
		folders = true
		entries, err := os.ReadDir(arg)
		if err != nil {
			inputs = append(inputs, detectInput{file: arg, err: err})
			continue
		}
		n := 0
		for _, d := range entries { // ReadDir sorts by name
			name := d.Name()
			if strings.HasPrefix(name, ".") || d.IsDir() {
				continue
			}
			p := filepath.Join(arg, name)
			if !isImageName(name) {
				skip(p, "not an image file")
				continue
			}
			inputs = append(inputs, detectInput{file: p})
			n++
		}
		if n == 0 {
			inputs = append(inputs, detectInput{file: arg, err: errNoImages, code: "no_images"})
		}
	}
	return inputs, folders
}

// reportLimits tells on stderr when the engine's limits changed what was searched or returned for file.
func reportLimits(env *Env, file string, rep engine.Report, minFace int, profile engine.Profile) {
	if rep.MinFaceUsed > minFace {
		fmt.Fprintf(env.Stderr, "facegate detect: %s: searched faces of %d px and larger, not %d: smaller would take more than %d detector runs on an image this large\n",
			file, rep.MinFaceUsed, minFace, profile.Defaults().MaxDetectorRuns)
	}
	if rep.Truncated {
		fmt.Fprintf(env.Stderr, "facegate detect: %s: only the largest faces are shown (%d found; --max-faces)\n", file, rep.FacesFound)
	}
}

func printTable(env *Env, results []imageResult) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tFACE\tBOX (x1,y1,x2,y2)\tSCORE\tSIZE\tQUALITY\tYAW/PITCH/ROLL\tEYES L/R\tISSUES\tATTRIBUTES")
	for _, r := range results {
		if r.Error != nil {
			continue
		}
		if len(r.Faces) == 0 {
			fmt.Fprintf(tw, "%s\t-\tno face\t\t\t\t\t\t\t\n", r.File)
		}
		for i, f := range r.Faces {
			q := f.Quality
			fmt.Fprintf(tw, "%s\t%d\t%.0f,%.0f,%.0f,%.0f\t%.2f\t%.0f\t%.2f\t%+.0f/%+.0f/%+.0f\t%.2f/%.2f\t%s\t%s\n",
				r.File, i, f.Box.X1, f.Box.Y1, f.Box.X2, f.Box.Y2, f.Score, q.Size, q.Score,
				q.Pose.Yaw, q.Pose.Pitch, q.Pose.Roll, q.LeftEyeOpen, q.RightEyeOpen,
				strings.Join(q.Issues, ","), attrString(f.Attributes))
		}
	}
	tw.Flush()
}

func attrString(a *facegate.Attributes) string {
	if a == nil {
		return ""
	}
	var parts []string
	if a.Age != nil {
		parts = append(parts, fmt.Sprintf("age %.0f", *a.Age))
	}
	if a.Gender != "" {
		parts = append(parts, fmt.Sprintf("%s %.2f", a.Gender, *a.GenderProb))
	}
	if a.Expression != "" {
		parts = append(parts, a.Expression)
	}
	if a.Live != nil {
		v := "spoof"
		if *a.Live {
			v = "live"
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", v, *a.LiveScore))
	}
	return strings.Join(parts, " ")
}
