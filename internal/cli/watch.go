package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/envconfig"
	"github.com/facegate/facegate/events"
	"github.com/facegate/facegate/index"
	"github.com/facegate/facegate/store/sqlite"
	"github.com/facegate/facegate/video"
)

// runWatch runs the video pipeline in this process on one source and prints its events as JSON lines.
func runWatch(env *Env, args []string) error {
	var c common
	fs := newFlags(env, "watch", "watch SOURCE [--gallery G [--data DIR]] [--fps 5] [--types match,unknown_face,...]\n\n"+
		"SOURCE is a video file, rtsp://... (TCP), http(s)://... (MJPEG or anything ffmpeg reads) or device:/dev/videoN.\n"+
		"Every event is printed to stdout as one JSON line; see docs/video.md for the event types.")
	c.register(fs)
	gallery := fs.String("gallery", "", "identify tracks against this gallery (name or id) of the store in --data; without it, only detect, track and count")
	data := fs.String("data", envconfig.Data(), "data directory of the store that holds the gallery ($FACEGATE_DATA)")
	fps := fs.Float64("fps", facegate.DefaultStreamFPS, "frames analysed per second")
	maxWidth := fs.Int("max-width", facegate.DefaultStreamMaxWidth, "downscale wider frames to this width")
	minFace := fs.Int("min-face", engine.DefaultMinFace, "smallest face height to look for, in pixels (--profile crowd: 12 unless given)")
	profileName := fs.String("profile", "default", profileUsage)
	loop := fs.Bool("loop", false, "files: start again at the end")
	fast := fs.Bool("fast", false, "files: read as fast as analysis allows, dropping no frame (default: at the video's own speed, like a camera)")
	crowd := fs.Int("crowd-interval", 60, "seconds between crowd figures")
	crops := fs.Bool("crops", false, "put a JPEG crop (base64) of the face in match events")
	unknownCrops := fs.Bool("unknown-crops", false, "put a crop in unknown-face events too (off: unknown faces carry no biometric data)")
	templateSecret := fs.String("template-secret", envconfig.TemplateSecretFile(), "the template transform secret the store's templates were made with (as for 'serve')")
	types := fs.String("types", "", "comma-separated event types to print (default: all): "+eventTypeList())
	zones := fs.String("zones", "", "a JSON file {\"zones\": [...], \"lines\": [...]} of zones and counting lines for the crowd figures (docs/video.md, Crowd figures)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one SOURCE")
	}
	if *fps <= 0 || *fps > 30 || *crowd <= 0 || *maxWidth <= 0 || *minFace <= 0 {
		return usagef("--fps must be in (0, 30]; --crowd-interval, --max-width and --min-face positive")
	}
	if *minFace < engine.MinFaceFloor {
		return usagef("--min-face must be at least %d pixels", engine.MinFaceFloor)
	}
	profile, err := parseProfile(fs, *profileName, map[string]*int{"min-face": minFace})
	if err != nil {
		return err
	}
	filter, err := events.ParseFilter(map[string][]string{"type": {*types}})
	if err != nil {
		return usagef("--types: %v", err)
	}
	log, err := c.logger(env.Stderr)
	if err != nil {
		return err
	}
	st := facegate.Stream{ID: "watch", Name: "watch", Source: pos[0], FPS: *fps, MaxWidth: *maxWidth, MinFace: *minFace, Profile: string(profile),
		Loop: *loop, NoRealtime: *fast, CrowdIntervalSeconds: *crowd, UnknownCrops: *unknownCrops, CropRetentionHours: -1}
	if *crops {
		st.CropRetentionHours = 0 // crops in match events (never stored by watch)
	}
	if *zones != "" {
		if st.Zones, st.Lines, err = readZones(*zones); err != nil {
			return err
		}
	}
	e, _, err := c.open(env, engine.Config{})
	if err != nil {
		return err
	}
	defer e.Close()
	cfg := video.Config{Engine: e, Logger: log, NoCropStore: true}
	if *gallery != "" {
		db, err := openStore(*data)
		if err != nil {
			return err
		}
		defer db.Close()
		g, err := findGallery(env, db, *gallery)
		if err != nil {
			return err
		}
		ix := index.New(facegate.TemplateDim)
		n := 0
		if err := db.EachTemplate(env.Ctx, func(f *facegate.FaceRecord) error {
			if f.GalleryID != g.ID {
				return nil
			}
			n++
			return ix.Add(f.GalleryID, f.SubjectID, f.ID, f.Template)
		}); err != nil {
			return err
		}
		log.Info("gallery loaded", "gallery", g.Name, "templates", n, "threshold", g.Threshold)
		transform, err := loadTransform(*templateSecret, *data)
		if err != nil {
			return err
		}
		if have, err := db.Setting(env.Ctx, "template_transform"); err != nil {
			return err
		} else if have != transform.Fingerprint() {
			return fmt.Errorf("the store's templates were made with template transform %q, not %q: pass the same --template-secret as the server", have, transform.Fingerprint())
		}
		cfg.Transform = transform
		st.Gallery, cfg.Store, cfg.Index = g.ID, db, ix
	}
	var mu sync.Mutex
	enc := json.NewEncoder(env.Stdout)
	var werr error
	seq := 0
	cfg.Publish = func(ev facegate.Event) facegate.Event {
		mu.Lock()
		defer mu.Unlock()
		seq++
		ev.ID = fmt.Sprintf("%08d", seq)
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		if filter.Match(&ev) && werr == nil {
			werr = enc.Encode(ev)
		}
		return ev
	}
	cfg.Stream = st
	p, err := video.New(cfg)
	if err != nil {
		return sourceError(st.Source, err)
	}
	err = p.Run(env.Ctx)
	if werr != nil {
		return fmt.Errorf("writing events: %w", werr)
	}
	// Ctrl-C is how a watch of a live source ends: not a failure.
	return err
}

func findGallery(env *Env, db *sqlite.DB, ref string) (*facegate.Gallery, error) {
	if g, err := db.Gallery(env.Ctx, ref); err == nil {
		return g, nil
	}
	all, err := db.Galleries(env.Ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := range all {
		if all[i].Name == ref {
			return &all[i], nil
		}
		names = append(names, all[i].Name)
	}
	return nil, fmt.Errorf("no gallery %q in the store (galleries: %s)", ref, strings.Join(names, ", "))
}

func eventTypeList() string {
	var s []string
	for _, t := range facegate.EventTypes {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}

// readZones reads a --zones file: a JSON object with zones and lines, checked as the server checks a stream's.
func readZones(path string) ([]facegate.Zone, []facegate.Line, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, usagef("--zones: %v", err)
	}
	var f struct {
		Zones []facegate.Zone `json:"zones"`
		Lines []facegate.Line `json:"lines"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, usagef("--zones %s: not a JSON object of zones and lines: %v", path, err)
	}
	st := facegate.Stream{Zones: f.Zones, Lines: f.Lines}
	if err := st.CheckGeometry(); err != nil {
		msg, _ := facegate.UserMessage(err)
		return nil, nil, usagef("--zones %s: %s", path, msg)
	}
	return f.Zones, f.Lines, nil
}
