package cli

import (
	"encoding/json"
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
	Error  *errorJSON      `json:"error,omitempty"`
}

type errorJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func runDetect(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "detect", "detect [--json] [--draw OUT] [--attributes LIST] [--min-face N] IMAGE...")
	c.register(fs)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	drawOut := fs.String("draw", "", "write the image with boxes, landmarks and labels to OUT (.png or .jpg); with several images OUT is a folder")
	attrs := fs.String("attributes", "", "comma-separated optional inferences: age, gender, expression, liveness, all")
	minFace := fs.Int("min-face", engine.DefaultMinFace, "smallest face height to look for, in pixels")
	thresh := fs.Float64("det-threshold", engine.DefaultDetThreshold, "detector confidence threshold")
	files, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("no image given")
	}
	want, err := engine.ParseAttributes(splitList(*attrs))
	if err != nil {
		return usageError{err.Error()}
	}
	if *minFace < 8 {
		return usagef("--min-face must be at least 8 pixels")
	}
	if *drawOut != "" && len(files) > 1 {
		if err := os.MkdirAll(*drawOut, 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", *drawOut, err)
		}
	}
	e, _, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()

	var results []imageResult
	failed := 0
	for _, file := range files {
		res := imageResult{File: file, Faces: []facegate.Face{}}
		img, info, err := imgio.DecodeFile(file, imgio.DefaultLimits)
		if err == nil {
			res.Format, res.Width, res.Height = string(info.Format), img.W, img.H
			res.Faces, err = e.Analyze(env.Ctx, img, engine.Options{MinFaceSize: *minFace, Threshold: *thresh, Attributes: want})
		}
		if err != nil {
			failed++
			res.Error = &errorJSON{Code: errorCode(err), Message: err.Error()}
			if !*asJSON {
				fmt.Fprintf(env.Stderr, "facegate detect: %s: %s\n", file, err)
			}
			results = append(results, res)
			continue
		}
		if *drawOut != "" {
			out := *drawOut
			if len(files) > 1 {
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
		if len(results) == 1 {
			v = results[0]
		}
		if err := enc.Encode(v); err != nil {
			return err
		}
	} else {
		printTable(env, results)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d images could not be analysed", failed, len(files))
	}
	return nil
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
