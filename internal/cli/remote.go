package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
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

// remoteErr turns a client error into the one-line message the CLI prints: "interrupted" once ctx is done
// (Ctrl-C), a hint to start the server when it cannot be reached, else the server's own message.
func remoteErr(ctx context.Context, r *remoteFlags, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !isAPIError(err) {
		return errors.New("interrupted")
	}
	// Only transport failures are *url.Error: the server answered nothing (refused, unknown host, reset, timed
	// out). An answer, even an error status, is an *api.Error.
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("cannot reach the server at %s (is 'facegate serve' running?): %w", r.address(), errors.Unwrap(ue))
	}
	return err
}

// address is the server the client talks to, for messages.
func (r *remoteFlags) address() string {
	for _, a := range []string{r.server, os.Getenv(api.EnvServer)} {
		if a != "" {
			return a
		}
	}
	return api.DefaultServer
}

func isAPIError(err error) bool {
	var ae *api.Error
	return errors.As(err, &ae)
}

// rejection returns the reasons when err is the server refusing one image (not a face it can enrol, not an
// image at all, too large...), and false for every other failure (unknown gallery or subject, bad key, server
// down), which stops enroll and index rather than being counted against the image.
func rejection(err error) ([]api.Rejection, bool) {
	var ae *api.Error
	if !errors.As(err, &ae) {
		return nil, false
	}
	switch {
	case ae.Status == http.StatusBadRequest, ae.Status == http.StatusRequestEntityTooLarge, ae.Status == http.StatusUnsupportedMediaType,
		ae.Status == http.StatusUnprocessableEntity:
	case ae.Code == api.CodePossibleDuplicate: // the face matches another subject: that image is refused (--allow-duplicate)
	default:
		return nil, false
	}
	reasons := ae.Reasons()
	if len(reasons) == 0 {
		reasons = []api.Rejection{{Code: ae.Code, Message: ae.Message}}
	}
	return reasons, true
}

// enrolOptions are the quality-gate flags of enroll and index.
type enrolFlags struct {
	takeLargest    bool
	allowDuplicate bool
	minQuality     float64
	minSize        float64
	consent        string
	guardian       string
}

func (e *enrolFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&e.takeLargest, "take-largest", false, "enrol the most prominent face of a photo with several (default: reject it)")
	fs.BoolVar(&e.allowDuplicate, "allow-duplicate", false, "enrol a face that already matches another subject of the gallery (default: refuse it as possible_duplicate)")
	fs.Float64Var(&e.minQuality, "min-quality", -1, "minimum quality score 0..1 (default: the server's, 0.4)")
	fs.Float64Var(&e.minSize, "min-size", -1, "minimum face height in pixels (default: the server's, 60)")
	fs.StringVar(&e.consent, "consent", "", "record the person's consent for the gallery's purpose when creating a subject: the evidence reference (signed form, recording...); galleries require consent unless exempt by a legal basis")
	fs.StringVar(&e.guardian, "guardian", "", "with --consent: the consent was given by this guardian (the subject is a minor)")
}

// consentFor is the consent request recorded with a new subject (nil without --consent).
func (e *enrolFlags) consentFor(person string) *api.ConsentRequest {
	if e.consent == "" {
		return nil
	}
	if e.guardian != "" {
		return &api.ConsentRequest{GivenBy: e.guardian, Guardian: true, Evidence: e.consent}
	}
	return &api.ConsentRequest{GivenBy: person, Evidence: e.consent}
}

func (e *enrolFlags) options() api.EnrolOptions {
	o := api.EnrolOptions{TakeLargest: e.takeLargest, AllowDuplicate: e.allowDuplicate}
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

// reasonsText renders rejection reasons on one line.
func reasonsText(reasons []api.Rejection) string {
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = r.Code + ": " + r.Message
	}
	return strings.Join(parts, "; ")
}

// findOrCreateSubject returns the gallery's subject with the external ID, creating it when absent.
func findOrCreateSubject(ctx context.Context, c *api.Client, gallery, external, display string, consent *api.ConsentRequest, minor bool) (*facegate.Subject, bool, error) {
	sub, err := c.SubjectByExternalID(ctx, gallery, external)
	if err == nil {
		return sub, false, nil
	}
	if !api.IsCode(err, api.CodeNotFound) {
		return nil, false, err
	}
	req := api.SubjectRequest{ExternalID: &external, Consent: consent}
	if display != "" {
		req.DisplayName = &display
	}
	if minor {
		req.Minor = &minor
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
	fs := newFlags(env, "enroll", `enroll --gallery G --subject EXTERNAL_ID [--name NAME] [--consent EVIDENCE [--guardian NAME]] [--take-largest] [--allow-duplicate] [--min-quality Q] IMAGE...

Adds a face from each image to the gallery's subject with that external id, creating the subject when the
gallery has none. Prints per image: enrolled, already enrolled (the subject has a face from the same image), or
rejected with the server's reasons. Exit status 1 when any image was rejected.`)
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
	for _, path := range images { // a typo in the last path should not leave the first ones enrolled
		if st, err := os.Stat(path); err != nil {
			return fileErr(path, err)
		} else if st.IsDir() {
			return fmt.Errorf("%s is a folder (use 'facegate index' for a folder per person)", path)
		}
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	ctx := env.Ctx
	who := *name
	if who == "" {
		who = *subject
	}
	sub, created, err := findOrCreateSubject(ctx, c, *gallery, *subject, *name, ef.consentFor(who), ef.guardian != "")
	if err != nil {
		return remoteErr(ctx, &rf, err)
	}
	if created {
		fmt.Fprintf(env.Stdout, "created subject %s (%s)\n", sub.ExternalID, sub.ID)
	}
	rejected := 0
	for _, path := range images {
		data, err := os.ReadFile(path)
		if err != nil {
			return fileErr(path, err)
		}
		res, err := c.Enrol(ctx, *gallery, sub.ID, data, ef.options())
		if err != nil {
			reasons, ok := rejection(err)
			if !ok {
				return remoteErr(ctx, &rf, err)
			}
			rejected++
			fmt.Fprintf(env.Stdout, "%s: rejected: %s\n", path, reasonsText(reasons))
			continue
		}
		if res.Duplicate {
			fmt.Fprintf(env.Stdout, "%s: already enrolled (face %s)\n", path, res.Face.ID)
		} else {
			fmt.Fprintf(env.Stdout, "%s: enrolled face %s (quality %.2f)\n", path, res.Face.ID, res.Face.Quality.Score)
		}
	}
	if rejected > 0 {
		return fmt.Errorf("%d of %d images rejected", rejected, len(images))
	}
	return nil
}

func runSearch(env *Env, args []string) error {
	var rf remoteFlags
	fs := newFlags(env, "search", `search --gallery G [--top-k K] [--json] IMAGE

Identifies every face of the image against the gallery: its box, match or unknown (no candidate reaches the
gallery's threshold), and its candidates best first (* marks those at or above the threshold).`)
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
	if *topK < 1 || *topK > 100 {
		return usagef("--top-k must be between 1 and 100")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	data, err := os.ReadFile(images[0])
	if err != nil {
		return fileErr(images[0], err)
	}
	sr, err := c.Search(env.Ctx, *gallery, data, *topK)
	if err != nil {
		return remoteErr(env.Ctx, &rf, err)
	}
	if *asJSON {
		return writeJSONTo(env.Stdout, sr)
	}
	fmt.Fprintf(env.Stdout, "%s: %s (threshold %.4f)\n", images[0], plural(len(sr.Faces), "face"), sr.Threshold)
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
	fs := newFlags(env, "verify", `verify --gallery G --subject EXTERNAL_ID_OR_ID [--json] IMAGE

Compares the image's most prominent face with the subject's enrolled faces and prints match or no match with
the score and the gallery's threshold. Exit status 0 for match and no match alike (read the output, or the
"match" field of --json); 1 when the request failed (no face, unknown subject, server unreachable).`)
	rf.register(fs)
	gallery := fs.String("gallery", "", "gallery id or name (required)")
	subject := fs.String("subject", "", "the subject's external id, or its id (sub_...) (required)")
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
		return fileErr(images[0], err)
	}
	// The external id first: it is what people know a subject by, and it may look like an id.
	id := *subject
	sub, err := c.SubjectByExternalID(env.Ctx, *gallery, id)
	switch {
	case err == nil:
		id = sub.ID
	case !api.IsCode(err, api.CodeNotFound):
		return remoteErr(env.Ctx, &rf, err)
	}
	vr, err := c.Verify(env.Ctx, *gallery, id, data)
	if err != nil {
		if api.IsCode(err, api.CodeNotFound) && sub == nil {
			if _, gerr := c.Gallery(env.Ctx, *gallery); gerr == nil {
				return fmt.Errorf("gallery %s has no subject with external id or id %q", *gallery, *subject)
			}
		}
		return remoteErr(env.Ctx, &rf, err)
	}
	if *asJSON {
		return writeJSONTo(env.Stdout, vr)
	}
	verdict := "no match"
	if vr.Match {
		verdict = "match"
	}
	fmt.Fprintf(env.Stdout, "%s: %s (score %.4f, threshold %.4f, %s in the image)\n", images[0], verdict, vr.Score, vr.Threshold, plural(vr.FacesInImage, "face"))
	return nil
}

// plural is "1 face", "2 faces".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
