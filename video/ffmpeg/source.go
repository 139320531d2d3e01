package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/internal/imgio"
	"github.com/facegate/facegate/internal/netguard"
)

// Defaults of Options.
const (
	DefaultFPS          = 5.0
	DefaultMinBackoff   = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultStallTimeout = 20 * time.Second
	// MaxFPS is the highest Options.FPS accepted.
	MaxFPS = 240.0
)

// fpsWindow is the sliding window of Status().FPSIn.
const fpsWindow = 5 * time.Second

// Options configure a Source.
type Options struct {
	// Source is a file path, file://path, rtsp:// or rtsps:// URL, http:// or https:// URL (MJPEG or anything
	// ffmpeg reads), or "device:/dev/videoN" (v4l2).
	Source string
	// FPS is the frames per second to emit (ffmpeg fps filter); default 5.
	FPS float64
	// MaxWidth downscales frames wider than this (keep aspect, even height); 0 = no limit.
	MaxWidth int
	// Loop (file sources) starts again at the end instead of ending.
	Loop bool
	// Realtime (file sources) reads at native speed (ffmpeg -re), as a camera would deliver; live sources are
	// always real time.
	Realtime bool
	// DropFrames: when the consumer is slower than the source, keep only the newest frame and count the others
	// as dropped; when false, the reader blocks (no frame lost).
	DropFrames bool
	// FFmpeg is the ffmpeg binary; default: "ffmpeg" from PATH.
	FFmpeg string
	// MinBackoff is the first reconnect delay, default 500ms; it doubles up to MaxBackoff (default 30s) and is
	// reset after a frame arrives.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// StallTimeout: no frame for this long → kill ffmpeg and reconnect; default 20s.
	StallTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Access limits what the source may reach. Nil sets no limit: any file the process may read, any network
	// address, which is right for the host operator's own tools (facegate watch); the server always sets it.
	Access *Access
}

// Access limits what a source given by an API client may reach (the server's --stream-dirs and
// --allow-private-networks). Its zero value is the strictest: no file source, no internal network address.
type Access struct {
	// FileDirs are the folders whose files (subfolders included, symbolic links resolved) a file source may
	// name; with none, file sources are refused. Every refusal reads the same (file missing, unreadable, a
	// directory or outside these folders), so that an API client cannot probe the server's files.
	FileDirs []string
	// PrivateNetworks lets HTTP sources connect to loopback, private, link-local and other internal
	// addresses (package netguard); otherwise such connections are refused when they are dialled.
	PrivateNetworks bool
}

// Frame is one decoded frame.
type Frame struct {
	Img *imgio.Image // owned by the receiver
	Seq uint64       // 1, 2, ... over the life of the Source (across reconnects)
	At  time.Time    // when the frame was completely read from ffmpeg
}

// sourceKind is what Options.Source designates.
type sourceKind int

const (
	kindFile sourceKind = iota
	kindRTSP
	kindHTTP
	kindDevice
)

func (k sourceKind) String() string {
	return [...]string{"file", "rtsp", "http", "device"}[k]
}

// Source reads frames from one video source. Create it with Open, start it with Run, take frames with Next.
// Status and Next may be called from any goroutine while Run runs.
type Source struct {
	opt   Options
	kind  sourceKind
	input string // the argument of ffmpeg's -i
	bin   string // resolved ffmpeg path
	log   *slog.Logger
	// client fetches HTTP sources, whose body is piped to ffmpeg (see http.go); nil for other kinds.
	client *http.Client

	frameReady chan struct{} // a frame was put in the mailbox (capacity 1)
	spaceReady chan struct{} // the mailbox was emptied (capacity 1)
	done       chan struct{} // closed when Run returns

	mu       sync.Mutex
	started  bool
	closed   bool // Run returned
	box      Frame
	boxFull  bool
	st       facegate.StreamStatus // State, Since, counters, size, LastError
	arrivals []time.Time           // frame arrivals of the last fpsWindow, oldest first
	onState  []func(facegate.StreamStatus)
}

// Open validates the options (unknown scheme, missing file, FPS out of range, ffmpeg not found → error) and
// returns a Source; it does not start ffmpeg.
func Open(opt Options) (*Source, error) {
	switch {
	case opt.FPS == 0:
		opt.FPS = DefaultFPS
	case math.IsNaN(opt.FPS) || opt.FPS < 0 || opt.FPS > MaxFPS:
		return nil, fmt.Errorf("ffmpeg: FPS %v out of range (0, %v]", opt.FPS, MaxFPS)
	}
	if opt.MaxWidth < 0 {
		return nil, fmt.Errorf("ffmpeg: negative MaxWidth %d", opt.MaxWidth)
	}
	if opt.MinBackoff < 0 || opt.MaxBackoff < 0 || opt.StallTimeout < 0 {
		return nil, errors.New("ffmpeg: negative MinBackoff, MaxBackoff or StallTimeout")
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff = DefaultMinBackoff
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = DefaultMaxBackoff
	}
	opt.MaxBackoff = max(opt.MaxBackoff, opt.MinBackoff)
	if opt.StallTimeout == 0 {
		opt.StallTimeout = DefaultStallTimeout
	}
	kind, input, err := parseSource(opt.Source, opt.Access)
	if err != nil {
		return nil, err
	}
	if kind == kindHTTP && opt.Access != nil {
		// Said now, when the stream is configured; the guard proper is at every connection (see http.go).
		if err := netguard.CheckURL(context.Background(), input, "the source "+redact(opt.Source), opt.Access.PrivateNetworks); err != nil {
			return nil, fmt.Errorf("ffmpeg: %w", err)
		}
	}
	name := opt.FFmpeg
	if name == "" {
		name = "ffmpeg"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: ffmpeg binary not found: %w",
			facegate.Userf(err, "video cannot be decoded: the program %q is not installed or not on the PATH (install ffmpeg, or give its path)", name))
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	s := &Source{
		opt:        opt,
		kind:       kind,
		input:      input,
		bin:        bin,
		log:        opt.Logger.With("component", "ffmpeg", "source", redact(opt.Source)),
		frameReady: make(chan struct{}, 1),
		spaceReady: make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	if kind == kindHTTP {
		s.client = httpClient(opt.Access == nil || opt.Access.PrivateNetworks)
	}
	s.st.State = facegate.StreamStarting
	s.st.Since = time.Now()
	return s, nil
}

// parseSource classifies a source and returns the argument to give ffmpeg's -i (for HTTP sources, the URL
// Go fetches). Only the schemes file, rtsp, rtsps, http and https and device: are accepted; acc (nil: no
// limit) restricts files to its folders and devices to /dev/videoN.
func parseSource(src string, acc *Access) (sourceKind, string, error) {
	if strings.TrimSpace(src) == "" {
		return 0, "", fmt.Errorf("ffmpeg: %w", facegate.Userf(nil, "empty source: give %s", sourceForms))
	}
	if p, ok := strings.CutPrefix(src, "device:"); ok {
		if !strings.HasPrefix(p, "/") || acc != nil && !videoDevice.MatchString(p) {
			return 0, "", fmt.Errorf("ffmpeg: device source %q: %w", src,
				facegate.Userf(nil, "the camera source %q is written wrong: write device:/dev/videoN", src))
		}
		return kindDevice, p, nil
	}
	if i := strings.Index(src, "://"); i > 0 && isScheme(src[:i]) {
		scheme := strings.ToLower(src[:i])
		switch scheme {
		case "file":
			p := src[len("file://"):]
			if u, err := url.Parse(src); err == nil && (u.Host == "" || u.Host == "localhost") {
				p = u.Path
			}
			return fileSource(src, p, acc)
		case "rtsp", "rtsps", "http", "https":
			u, err := url.Parse(src)
			if err != nil {
				return 0, "", fmt.Errorf("ffmpeg: source %s: %w", redact(src), facegate.Userf(err, "the source %s is not a valid URL", redact(src)))
			}
			if u.Host == "" {
				return 0, "", fmt.Errorf("ffmpeg: source %s: %w", redact(src), facegate.Userf(nil, "the source %s has no host", redact(src)))
			}
			if scheme == "rtsp" || scheme == "rtsps" {
				return kindRTSP, src, nil
			}
			return kindHTTP, src, nil
		default:
			return 0, "", fmt.Errorf("ffmpeg: source %s: %w", redact(src),
				facegate.Userf(nil, "unsupported scheme %q in the source %s: give %s", scheme, redact(src), sourceForms))
		}
	}
	return fileSource(src, src, acc)
}

// videoDevice is the only kind of device an API client may name: a V4L2 capture device. Any other file under
// /dev (a disk, /dev/zero, /dev/urandom) is refused before ffmpeg opens it, so a stream's last_error cannot
// tell which devices exist either.
var videoDevice = regexp.MustCompile(`^/dev/video[0-9]{1,3}$`)

// sourceForms lists the sources a stream takes, for messages.
const sourceForms = "a video file, an rtsp://, rtsps://, http:// or https:// URL, or device:/dev/videoN"

// isScheme reports whether s is a URL scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )).
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// fileSource checks that p is a readable regular file (inside acc's folders, when acc is set) and returns it for
// ffmpeg as "file:/absolute/path", so that neither a leading '-' nor a protocol-like prefix ("concat:",
// "pipe:") in the name is interpreted.
func fileSource(src, p string, acc *Access) (sourceKind, string, error) {
	if acc != nil {
		return allowedFile(src, p, acc.FileDirs)
	}
	if p == "" {
		return 0, "", fmt.Errorf("ffmpeg: source %q: %w", src, facegate.Userf(nil, "the source %q names no file", src))
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, "", fmt.Errorf("ffmpeg: source file: %w", facegate.Userf(err, "the file %s does not exist on the server", src))
	case errors.Is(err, fs.ErrPermission):
		return 0, "", fmt.Errorf("ffmpeg: source file: %w", facegate.Userf(err, "the server may not read the file %s", src))
	case err != nil:
		return 0, "", fmt.Errorf("ffmpeg: source file: %w", facegate.Userf(err, "the server cannot read the file %s", src))
	case fi.IsDir():
		return 0, "", fmt.Errorf("ffmpeg: source file %s: %w", p, facegate.Userf(nil, "%s is a directory, not a video file", src))
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return 0, "", fmt.Errorf("ffmpeg: source file %s: %w", p, facegate.Userf(err, "the server cannot read the file %s", src))
	}
	return kindFile, "file:" + abs, nil
}

// OnState registers a callback called (synchronously, from Run's goroutine, not under a lock) on every state
// change with the new status; the start of every ffmpeg attempt counts as a change to StreamStarting. Call
// before Run.
func (s *Source) OnState(fn func(facegate.StreamStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onState = append(s.onState, fn)
}

// Status returns a snapshot: State, Since (time of the last state change), FPSIn (frames read per second over a
// sliding window of about 5 s), FramesIn, FramesDropped, Reconnects, Width, Height, LastError. Other fields are
// left zero (the pipeline fills them).
func (s *Source) Status() facegate.StreamStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusLocked(time.Now())
}

func (s *Source) statusLocked(now time.Time) facegate.StreamStatus {
	st := s.st
	st.FPSIn = 0
	if st.State != facegate.StreamRunning {
		return st
	}
	s.trimArrivals(now)
	if n := len(s.arrivals); n >= 2 {
		// n frames, the first of which opens the measured span: (n-1) intervals between the oldest frame of
		// the window and now. When frames stop, the span grows to the window and n falls: the rate decays.
		if span := now.Sub(s.arrivals[0]); span > 0 {
			st.FPSIn = float64(n-1) / span.Seconds()
		}
	}
	return st
}

// trimArrivals forgets arrivals older than the window.
func (s *Source) trimArrivals(now time.Time) {
	i := 0
	for i < len(s.arrivals) && now.Sub(s.arrivals[i]) > fpsWindow {
		i++
	}
	if i > 0 {
		s.arrivals = append(s.arrivals[:0], s.arrivals[i:]...)
	}
}

// Next blocks until a frame is available and returns it. After Run returned (file ended, ctx done) and no frame
// is left it returns io.EOF; when ctx ends first it returns ctx.Err(). With DropFrames it returns the newest
// frame and the frames it replaced are counted as dropped.
func (s *Source) Next(ctx context.Context) (Frame, error) {
	for {
		s.mu.Lock()
		if s.boxFull {
			f := s.box
			s.box, s.boxFull = Frame{}, false
			s.mu.Unlock()
			signal(s.spaceReady)
			return f, nil
		}
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return Frame{}, io.EOF
		}
		select {
		case <-s.frameReady:
		case <-s.done:
		case <-ctx.Done():
			return Frame{}, ctx.Err()
		}
	}
}

// signal makes a non-blocking send on a capacity-1 channel: a pending signal is enough.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// deliver puts f in the mailbox. Without DropFrames it waits for the mailbox to be empty and returns false
// when ctx ends first (f is then lost).
func (s *Source) deliver(ctx context.Context, f Frame) bool {
	for {
		s.mu.Lock()
		if !s.boxFull || s.opt.DropFrames {
			if s.boxFull {
				s.st.FramesDropped++
			}
			s.box, s.boxFull = f, true
			s.mu.Unlock()
			signal(s.frameReady)
			return true
		}
		s.mu.Unlock()
		select {
		case <-s.spaceReady:
		case <-ctx.Done():
			return false
		}
	}
}

// frameRead records the arrival of img and returns its frame and whether the state changed to running.
func (s *Source) frameRead(img *imgio.Image, at time.Time) (Frame, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.FramesIn++
	s.st.Width, s.st.Height = img.W, img.H
	s.trimArrivals(at)
	if len(s.arrivals) >= 4096 { // bound memory at absurd rates; the rate stays right
		s.arrivals = append(s.arrivals[:0], s.arrivals[1:]...)
	}
	s.arrivals = append(s.arrivals, at)
	f := Frame{Img: img, Seq: s.st.FramesIn, At: at}
	if s.st.State == facegate.StreamRunning {
		return f, false
	}
	s.st.State, s.st.Since = facegate.StreamRunning, at
	return f, true
}

// setState changes the state (and applies edit, if any, under the lock), then calls the callbacks.
func (s *Source) setState(state facegate.StreamState, edit func(*facegate.StreamStatus)) {
	now := time.Now()
	s.mu.Lock()
	s.st.State, s.st.Since = state, now
	if edit != nil {
		edit(&s.st)
	}
	if state != facegate.StreamRunning {
		s.arrivals = s.arrivals[:0]
	}
	st := s.statusLocked(now)
	fns := s.onState
	s.mu.Unlock()
	notify(fns, st)
}

// notify calls the state callbacks with st.
func notify(fns []func(facegate.StreamStatus), st facegate.StreamStatus) {
	for _, fn := range fns {
		fn(st)
	}
}
