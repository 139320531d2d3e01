package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/api"
)

// remoteFlags are the flags of the commands that talk to a running server.
type remoteFlags struct {
	server, key string
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.server, "server", "", "server URL (default $FACEGATE_SERVER, else "+api.DefaultServer+")")
	fs.StringVar(&r.key, "key", "", "API key (default $FACEGATE_KEY)")
}

func (r *remoteFlags) client() (*api.Client, error) {
	c, err := api.ClientFromEnv(r.server, r.key)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return c, nil
}

// remoteErr turns a client error into the one-line message the CLI prints.
func remoteErr(r *remoteFlags, err error) error {
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ue) && (errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused")) {
		addr := r.server
		if addr == "" {
			addr = os.Getenv(api.EnvServer)
		}
		if addr == "" {
			addr = api.DefaultServer
		}
		return fmt.Errorf("cannot reach the server at %s (is 'facegate serve' running?): %w", addr, errors.Unwrap(ue))
	}
	return err
}

// enrolOptions are the quality-gate flags of enroll and index.
type enrolFlags struct {
	takeLargest bool
	minQuality  float64
	minSize     float64
}

func (e *enrolFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&e.takeLargest, "take-largest", false, "enrol the most prominent face of a photo with several (default: reject it)")
	fs.Float64Var(&e.minQuality, "min-quality", -1, "minimum quality score 0..1 (default: the server's, 0.4)")
	fs.Float64Var(&e.minSize, "min-size", -1, "minimum face height in pixels (default: the server's, 60)")
}

func (e *enrolFlags) options() api.EnrolOptions {
	o := api.EnrolOptions{TakeLargest: e.takeLargest}
	if e.minQuality >= 0 {
		q := float32(e.minQuality)
		o.MinQuality = &q
	}
	if e.minSize >= 0 {
		s := float32(e.minSize)
		o.MinSize = &s
	}
	return o
}

// reasonsOf renders an enrolment error's reasons, or the error itself.
func reasonsOf(err error) string {
	var ae *api.Error
	if errors.As(err, &ae) {
		if rs := ae.Reasons(); len(rs) > 0 {
			parts := make([]string, len(rs))
			for i, r := range rs {
				parts[i] = r.Code + " (" + r.Message + ")"
			}
			return strings.Join(parts, "; ")
		}
		return ae.Code + ": " + ae.Message
	}
	return err.Error()
}

// findOrCreateSubject returns the gallery's subject with the external ID, creating it when absent.
func findOrCreateSubject(ctx context.Context, c *api.Client, gallery, external, display string) (*facegate.Subject, bool, error) {
	sub, err := c.SubjectByExternalID(ctx, gallery, external)
	if err == nil {
		return sub, false, nil
	}
	if !api.IsCode(err, api.CodeNotFound) {
		return nil, false, err
	}
	req := api.SubjectRequest{ExternalID: &external}
	if display != "" {
		req.DisplayName = &display
	}
	created, err := c.CreateSubject(ctx, gallery, req, api.EnrolOptions{})
	if api.IsCode(err, api.CodeConflict) { // created meanwhile by someone else
		sub, err := c.SubjectByExternalID(ctx, gallery, external)
		return sub, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return &created.Subject, true, nil
}

func runEnroll(env *Env, args []string) error {
	var rf remoteFlags
	var ef enrolFlags
	fs := newFlags(env, "enroll", "enroll --gallery G --subject EXTERNAL_ID [--name NAME] [--take-largest] IMAGE...")
	rf.register(fs)
	ef.register(fs)
	gallery := fs.String("gallery", "", "gallery id or name (required)")
	subject := fs.String("subject", "", "the subject's external id; created when the gallery has none (required)")
	name := fs.String("name", "", "display name for a new subject")
	images, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *gallery == "" || *subject == "" || len(images) == 0 {
		return usagef("--gallery, --subject and at least one image are required")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	ctx := env.Ctx
	sub, created, err := findOrCreateSubject(ctx, c, *gallery, *subject, *name)
	if err != nil {
		return remoteErr(&rf, err)
	}
	if created {
		fmt.Fprintf(env.Stdout, "created subject %s (%s)\n", sub.ExternalID, sub.ID)
	}
	rejected := 0
	for _, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		res, err := c.Enrol(ctx, *gallery, sub.ID, data, ef.options())
		switch {
		case err == nil && res.Duplicate:
			fmt.Fprintf(env.Stdout, "%s: already enrolled (face %s)\n", path, res.Face.ID)
		case err == nil:
			fmt.Fprintf(env.Stdout, "%s: enrolled face %s (quality %.2f)\n", path, res.Face.ID, res.Face.Quality.Score)
		default:
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Status == 401 || ae.Status == 403 || ae.Status == 404 {
				return remoteErr(&rf, err)
			}
			rejected++
			fmt.Fprintf(env.Stdout, "%s: rejected: %s\n", path, reasonsOf(err))
		}
	}
	if rejected > 0 {
		return fmt.Errorf("%d of %d images rejected", rejected, len(images))
	}
	return nil
}

func runSearch(env *Env, args []string) error {
	var rf remoteFlags
	fs := newFlags(env, "search", "search --gallery G [--top-k K] [--json] IMAGE")
	rf.register(fs)
	gallery := fs.String("gallery", "", "gallery id or name (required)")
	topK := fs.Int("top-k", 5, "candidates per face (1..100)")
	asJSON := fs.Bool("json", false, "print the server's response as JSON")
	images, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *gallery == "" || len(images) != 1 {
		return usagef("--gallery and exactly one image are required")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(images[0])
	if err != nil {
		return err
	}
	sr, err := c.Search(env.Ctx, *gallery, data, *topK)
	if err != nil {
		return remoteErr(&rf, err)
	}
	if *asJSON {
		return writeJSONTo(env.Stdout, sr)
	}
	fmt.Fprintf(env.Stdout, "%s: %d faces (threshold %.4f)\n", images[0], len(sr.Faces), sr.Threshold)
	for i, f := range sr.Faces {
		b := f.Box
		fmt.Fprintf(env.Stdout, "face %d at (%.0f,%.0f)-(%.0f,%.0f): %s\n", i+1, b.X1, b.Y1, b.X2, b.Y2, f.Result)
		for _, cand := range f.Candidates {
			mark := " "
			if cand.Match {
				mark = "*"
			}
			fmt.Fprintf(env.Stdout, "  %s %.4f  %s  %s  (%s)\n", mark, cand.Score, cand.ExternalID, cand.DisplayName, cand.SubjectID)
		}
	}
	return nil
}

func runVerify(env *Env, args []string) error {
	var rf remoteFlags
	fs := newFlags(env, "verify", "verify --gallery G --subject ID_OR_EXTERNAL_ID [--json] IMAGE")
	rf.register(fs)
	gallery := fs.String("gallery", "", "gallery id or name (required)")
	subject := fs.String("subject", "", "subject id or external id (required)")
	asJSON := fs.Bool("json", false, "print the server's response as JSON")
	images, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *gallery == "" || *subject == "" || len(images) != 1 {
		return usagef("--gallery, --subject and exactly one image are required")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(images[0])
	if err != nil {
		return err
	}
	id := *subject
	if !strings.HasPrefix(id, "sub_") {
		sub, err := c.SubjectByExternalID(env.Ctx, *gallery, id)
		if err != nil {
			return remoteErr(&rf, err)
		}
		id = sub.ID
	}
	vr, err := c.Verify(env.Ctx, *gallery, id, data)
	if err != nil {
		return remoteErr(&rf, err)
	}
	if *asJSON {
		return writeJSONTo(env.Stdout, vr)
	}
	verdict := "no match"
	if vr.Match {
		verdict = "match"
	}
	fmt.Fprintf(env.Stdout, "%s: %s (score %.4f, threshold %.4f, %d faces in the image)\n", images[0], verdict, vr.Score, vr.Threshold, vr.FacesInImage)
	return nil
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
