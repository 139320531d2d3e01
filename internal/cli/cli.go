// Package cli implements the facegate command line: each subcommand parses its own flags, opens the engine as it
// needs, and maps failures to a message on stderr and an exit status. cmd/facegate only calls Main.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/facegate/facegate/engine"
	"github.com/facegate/facegate/internal/modelpack"
)

// Exit statuses.
const (
	ExitOK    = 0
	ExitError = 1 // the command ran and failed: bad image, no face, missing models...
	ExitUsage = 2 // the command line was wrong
)

// usageError marks errors that deserve ExitUsage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// Env is what a command runs with; tests substitute the streams.
type Env struct {
	Stdout, Stderr io.Writer
	Ctx            context.Context
}

type command struct {
	name    string
	summary string
	run     func(env *Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP API on an embedded store (default :8080)", runServe},
		{"detect", "find faces in images or folders of images: boxes, landmarks, quality, optional attributes", runDetect},
		{"compare", "1:1 — do two images show the same person?", runCompare},
		{"enroll", "add photos of a person to a gallery on a server", runEnroll},
		{"search", "1:N — who is in this photo? (against a gallery on a server)", runSearch},
		{"verify", "1:1 — is this photo this enrolled person? (on a server)", runVerify},
		{"index", "bulk-enrol a folder-per-person tree into a gallery; resumable", runIndex},
		{"keys", "template protection ('keys generate', 'keys rotate', 'keys secret'); API keys on the host ('keys admin', 'keys revoke')", runKeys},
		{"audit", "'audit verify': check the audit log's chain and signatures; 'audit keygen': a checkpoint key", runAudit},
		{"watch", "follow the faces in a video file or camera stream; events as JSON lines", runWatch},
		{"eval", "measure accuracy: 'eval verify' (pairs) and 'eval identify' (folder per person)", runEval},
		{"bench", "latency per stage and end to end", runBench},
		{"version", "facegate, ONNX Runtime and model pack versions with checksums", runVersion},
	}
}

const overview = `facegate — self-hosted face recognition

Usage:
  facegate <command> [flags] [arguments]

Commands:
%s
Common flags (every command that runs models):
  --models DIR     folder with the fr_*.onnx models (default: $FACEGATE_MODELS, then the search path
                   'facegate version' prints); the runtime library is found beside it or via $FACEGATE_ORT_LIB
  --threads N      threads per model run (default 1; independent model calls already run side by side)
  --log-level L    debug, info, warn or error (default warn)
  --precise        average landmarks over 7 crops and fuse mirror-image templates (about 2x slower per face)

Server commands (enroll, search, verify, index):
  --server URL     the server (default $FACEGATE_SERVER, else http://localhost:8080)
  --key KEY        API key (default $FACEGATE_KEY)

Run 'facegate <command> --help' for a command's flags.
Exit status: 0 success, 1 failure (bad image, no face, missing models, server error), 2 bad command line.
'compare' and 'verify' exit 0 for "no match" too: the decision is in their output.
`

// Usage returns the overview help text.
func Usage() string {
	var b strings.Builder
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	return fmt.Sprintf(overview, b.String())
}

// Main runs the command line args (without the program name) and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	env := &Env{Stdout: stdout, Stderr: stderr, Ctx: ctx}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			return Main(ctx, []string{args[1], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, Usage())
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	if args[0] == "--version" || args[0] == "-version" {
		args[0] = "version"
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(env, args[1:])
			return report(env, c.name, err)
		}
	}
	fmt.Fprintf(stderr, "facegate: unknown command %q\n\n%s", args[0], Usage())
	return ExitUsage
}

func report(env *Env, name string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(env.Stderr, "facegate %s: %s\n(see 'facegate %s --help')\n", name, ue.msg, name)
		return ExitUsage
	}
	fmt.Fprintf(env.Stderr, "facegate %s: %s\n", name, err)
	return ExitError
}

// common holds the flags shared by commands that run models.
type common struct {
	models   string
	threads  int
	logLevel string
	precise  bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.models, "models", "", "folder with the fr_*.onnx models")
	fs.IntVar(&c.threads, "threads", 1, "threads per model run (independent model calls already run side by side)")
	fs.StringVar(&c.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.BoolVar(&c.precise, "precise", false, "average landmarks over 7 crops and fuse mirror-image templates (slower, slightly more accurate)")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usagef("bad --log-level %q", c.logLevel)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// open locates and verifies the model pack, then starts the engine.
func (c *common) open(env *Env, cfg engine.Config) (*engine.Engine, modelpack.Paths, error) {
	log, err := c.logger(env.Stderr)
	if err != nil {
		return nil, modelpack.Paths{}, err
	}
	paths, err := modelpack.Locate(c.models)
	if err != nil {
		return nil, paths, err
	}
	cfg.RuntimePath, cfg.ModelsDir, cfg.Logger = paths.Runtime, paths.Models, log
	cfg.Precise = cfg.Precise || c.precise
	if cfg.Threads == 0 {
		cfg.Threads = c.threads
	}
	e, err := engine.New(cfg)
	if err != nil {
		return nil, paths, err
	}
	log.Debug("engine ready", "models", paths.Models, "runtime", paths.Runtime)
	return e, paths, nil
}

// newFlags makes a FlagSet whose usage text lists the synopsis and flags.
func newFlags(env *Env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "Usage: facegate %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags allowing them after positional arguments too (facegate detect a.jpg --json).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
