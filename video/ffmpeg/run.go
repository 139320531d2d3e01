package ffmpeg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/facegate/facegate"
)

// Timeouts of an attempt.
const (
	// exitGrace is how long ffmpeg may take to exit after closing its output before it is killed; it is also
	// the WaitDelay of the command (how long Wait waits for stderr after the process ended).
	exitGrace = 5 * time.Second
	// probeTimeout bounds the wait for the response headers of an HTTP source.
	probeTimeout = 5 * time.Second
	// rtspTimeout is ffmpeg's RTSP socket I/O timeout, in microseconds.
	rtspTimeout = "10000000"
	// stderrLines is how many stderr lines are kept for LastError.
	stderrLines = 8
)

// errStalled is the cancellation cause of an attempt that produced no frame for StallTimeout.
var errStalled = errors.New("stalled")

// errNoExit is the cancellation cause of an attempt whose ffmpeg closed its output but did not exit.
var errNoExit = errors.New("ffmpeg did not exit after closing its output")

// Run starts ffmpeg and reads frames until ctx ends, or, for a non-looping file, until it ends (state
// StreamEnded). On failure or end of a live source it reconnects with exponential backoff (state
// StreamReconnecting, Reconnects counted, LastError = the last meaningful line ffmpeg printed on stderr, or the
// exit status). Run returns nil when ctx ends (state StreamStopped) or the file ended; it returns an error only
// when called more than once. It kills its ffmpeg (whole process group) and waits for it before returning: no
// process is left behind.
func (s *Source) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("ffmpeg: Run called more than once")
	}
	s.started = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
	}()

	backoff := s.opt.MinBackoff
	for {
		res := s.attempt(ctx)
		if ctx.Err() != nil {
			s.setState(facegate.StreamStopped, nil)
			s.log.Info("ffmpeg source stopped", "frames", res.frames)
			return nil
		}
		if s.kind == kindFile && !s.opt.Loop && (res.clean || res.frames > 0) {
			// The file ended. One that failed after delivering frames is not replayed from the start.
			s.setState(facegate.StreamEnded, func(st *facegate.StreamStatus) {
				if !res.clean {
					st.LastError = res.err
				}
			})
			if res.clean {
				s.log.Info("ffmpeg file source ended", "frames", res.frames)
			} else {
				s.log.Warn("ffmpeg file source failed; not replaying it", "error", res.err, "frames", res.frames)
			}
			return nil
		}
		if res.frames > 0 {
			backoff = s.opt.MinBackoff
		}
		msg := res.err
		if msg == "" {
			msg = "source ended"
		}
		s.setState(facegate.StreamReconnecting, func(st *facegate.StreamStatus) {
			st.Reconnects++
			st.LastError = msg
		})
		s.log.Warn("ffmpeg source failed; reconnecting", "error", msg, "frames", res.frames, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			s.setState(facegate.StreamStopped, nil)
			s.log.Info("ffmpeg source stopped")
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, s.opt.MaxBackoff)
	}
}

// attemptResult is how one ffmpeg run ended.
type attemptResult struct {
	frames uint64 // frames read
	clean  bool   // ffmpeg ended its output and exited with status 0
	err    string // what went wrong (or the last stderr line of a clean end), for LastError
}

// attempt runs ffmpeg once and reads its frames until it exits, fails, stalls or ctx ends. The process group is
// killed if needed and the process is always waited for.
func (s *Source) attempt(ctx context.Context) (res attemptResult) {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var hb *body // an HTTP source's response, piped to ffmpeg
	mjpeg := false
	if s.kind == kindHTTP {
		var err error
		hb, mjpeg, err = s.get(actx)
		if ctx.Err() != nil {
			return res
		}
		if err != nil {
			res.err = err.Error()
			return res
		}
		// Closed when the attempt ends, which also ends the copy to ffmpeg's stdin (so Wait returns).
		defer hb.Close()
	}
	args := s.args(mjpeg)
	if ctx.Err() != nil {
		return res
	}
	cmd := exec.CommandContext(actx, s.bin, args...)
	cmd.Env = childEnv(os.Environ())
	if hb != nil {
		cmd.Stdin = hb
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// The whole process group, even when its leader has exited: a child of ffmpeg (or of a wrapper
		// script) may still hold the pipe. Linux does not hand out a PID that is still in use as a process
		// group id, so while any member lives the id names this group.
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return nil
		}
		return err
	}
	cmd.WaitDelay = exitGrace
	tail := newStderrTail(s.log)
	cmd.Stderr = tail
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		res.err = fmt.Sprintf("ffmpeg: %v", err)
		return res
	}
	s.log.Debug("starting ffmpeg", "args", redact(strings.Join(args, " ")))
	if err := cmd.Start(); err != nil {
		res.err = fmt.Sprintf("ffmpeg: starting %s: %v", s.bin, err)
		return res
	}
	s.setState(facegate.StreamStarting, nil)

	// Stall watchdog: no frame for StallTimeout, not counting the time spent waiting for the consumer.
	t0 := time.Now()
	var progress atomic.Int64 // time since t0 of the last frame or end of delivery
	var delivering atomic.Bool
	watchDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(min(max(s.opt.StallTimeout/4, 10*time.Millisecond), time.Second))
		defer tick.Stop()
		for {
			select {
			case <-watchDone:
				return
			case <-actx.Done():
				// Unblock the reader even if something outside the killed process group holds the pipe.
				stdout.Close()
				return
			case <-tick.C:
				if !delivering.Load() && time.Since(t0)-time.Duration(progress.Load()) > s.opt.StallTimeout {
					cancel(errStalled)
					stdout.Close()
					return
				}
			}
		}
	}()

	br := bufio.NewReaderSize(stdout, 1<<20)
	var readErr error
	for {
		img, err := ReadFrame(br, DefaultMaxPixels)
		if err != nil {
			readErr = err
			break
		}
		at := time.Now()
		progress.Store(int64(at.Sub(t0)))
		res.frames++
		f, running := s.frameRead(img, at)
		if running {
			s.emit()
			s.log.Info("ffmpeg source running", "width", img.W, "height", img.H)
		}
		delivering.Store(true)
		ok := s.deliver(actx, f)
		progress.Store(int64(time.Since(t0)))
		delivering.Store(false)
		if !ok {
			readErr = context.Cause(actx)
			break
		}
	}
	close(watchDone)
	wg.Wait()
	var lost error // why an HTTP source's connection broke, if it did
	if hb != nil {
		lost = hb.failure()
		hb.Close() // no more frames are read: stop feeding ffmpeg
	}

	if readErr == io.EOF {
		// ffmpeg closed its output, so it is exiting; kill it if it does not.
		t := time.AfterFunc(exitGrace, func() { cancel(errNoExit) })
		defer t.Stop()
	} else {
		cancel(readErr) // kills the process group (a no-op if actx already ended)
	}
	waitErr := cmd.Wait()
	// Stragglers of the group (children that outlived ffmpeg) go too.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	tail.flush()
	cause := context.Cause(actx)

	switch {
	case ctx.Err() != nil:
		res.err = "stopped"
	case errors.Is(cause, errStalled):
		res.err = fmt.Sprintf("no frame for %v (stalled)", s.opt.StallTimeout)
		if l := tail.last(); l != "" {
			res.err += "; last ffmpeg message: " + l
		}
	case errors.Is(cause, errNoExit):
		res.err = errNoExit.Error()
	case lost != nil && (readErr == io.EOF || errors.Is(readErr, io.ErrUnexpectedEOF)):
		res.err = redact(s.opt.Source) + ": the connection was lost: " + redact(lost.Error())
	case readErr == io.EOF && waitErr == nil:
		res.clean = true
		res.err = tail.last()
	case tail.last() != "" && (readErr == io.EOF || errors.Is(readErr, io.ErrUnexpectedEOF)):
		res.err = tail.last() // ffmpeg said why it stopped
	case readErr != io.EOF:
		res.err = readErr.Error() // a malformed, oversized or truncated frame
	default:
		res.err = "ffmpeg exited: " + waitErr.Error()
	}
	return res
}

// emit calls the state callbacks with the current status.
func (s *Source) emit() {
	s.mu.Lock()
	st := s.statusLocked(time.Now())
	fns := s.onState
	s.mu.Unlock()
	notify(fns, st)
}

// protocols is ffmpeg's -protocol_whitelist per kind of source: a file source opens files only (no "concat:",
// "subfile:", "http:" hidden in a playlist), RTSP only its own connections, and HTTP sources only the pipe Go
// feeds (ffmpeg makes no connection of its own, so it follows no redirect).
var protocols = [...]string{kindFile: "file", kindRTSP: "rtsp,rtsps,tcp,tls", kindHTTP: "pipe", kindDevice: "file"}

// args returns ffmpeg's arguments for one attempt; mjpeg says an HTTP source's response is MJPEG.
func (s *Source) args(mjpeg bool) []string {
	a := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", protocols[s.kind]}
	input := s.input
	switch s.kind {
	case kindFile:
		if s.opt.Realtime {
			a = append(a, "-re")
		}
		if s.opt.Loop {
			a = append(a, "-stream_loop", "-1")
		}
	case kindRTSP:
		a = append(a, "-rtsp_transport", "tcp", "-timeout", rtspTimeout)
	case kindHTTP:
		if mjpeg {
			// MJPEG parts have no timestamps; without wall-clock ones ffmpeg assumes 25 fps.
			a = append(a, "-f", "mpjpeg", "-use_wallclock_as_timestamps", "1")
		}
		input = "pipe:0"
	case kindDevice:
		a = append(a, "-f", "v4l2")
	}
	return append(a, "-i", input, "-an", "-sn", "-dn", "-vf", s.filter(),
		"-pix_fmt", "rgb24", "-f", "image2pipe", "-c:v", "ppm", "pipe:1")
}

// filter returns the video filter graph: fps, then a downscale when the frame is wider than MaxWidth.
func (s *Source) filter() string {
	f := "fps=" + strconv.FormatFloat(s.opt.FPS, 'f', -1, 64)
	if s.opt.MaxWidth > 0 {
		w := strconv.Itoa(s.opt.MaxWidth)
		// h=-2 keeps the aspect ratio with an even height; narrower frames are left as they are.
		f += ",scale=w='min(iw," + w + ")':h='if(gt(iw," + w + "),-2,ih)'"
	}
	return f
}

// userinfoRE matches the password in the user information of a URL.
var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*):[^/@\s]*@`)

// queryParamRE matches a URL query parameter and its value.
var queryParamRE = regexp.MustCompile(`([?&])([^=&\s?#]+)=([^&\s#]*)`)

// redact masks passwords in URLs in s, and the values of credential query parameters (token=, password=, …,
// facegate.IsCredentialParam).
func redact(s string) string {
	s = userinfoRE.ReplaceAllString(s, "${1}:xxxxx@")
	return queryParamRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := queryParamRE.FindStringSubmatch(m)
		if !facegate.IsCredentialParam(sub[2]) {
			return m
		}
		return sub[1] + sub[2] + "=xxxxx"
	})
}

// contextRE matches the "[tcp @ 0x55d0c0a3c0]" context prefix of ffmpeg log lines; the address is noise.
var contextRE = regexp.MustCompile(`\[([^\]@]*?) @ 0x[0-9a-fA-F]+\]`)

// stderrTail is ffmpeg's stderr: it logs every line at debug level and keeps the last meaningful ones.
type stderrTail struct {
	log *slog.Logger

	mu      sync.Mutex
	partial []byte
	lines   []string
}

func newStderrTail(log *slog.Logger) *stderrTail {
	return &stderrTail{log: log}
}

// Write splits p into lines (ended by \n or \r).
func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range p {
		if c == '\n' || c == '\r' {
			t.lineLocked()
			continue
		}
		if len(t.partial) < 4096 {
			t.partial = append(t.partial, c)
		}
	}
	return len(p), nil
}

// flush ends a last line that had no newline.
func (t *stderrTail) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lineLocked()
}

func (t *stderrTail) lineLocked() {
	line := strings.TrimSpace(string(t.partial))
	t.partial = t.partial[:0]
	if line == "" {
		return
	}
	line = contextRE.ReplaceAllString(redact(line), "[$1]")
	t.log.Debug("ffmpeg stderr", "line", line)
	if !meaningful(line) {
		return
	}
	if len(t.lines) == stderrLines {
		t.lines = append(t.lines[:0], t.lines[1:]...)
	}
	t.lines = append(t.lines, line)
}

// last returns the last meaningful line, or "".
func (t *stderrTail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return t.lines[len(t.lines)-1]
}

// meaningful reports whether a stderr line says something about the source rather than being a consequence of
// ffmpeg being stopped (errors writing to the closed pipe) or a summary ("Conversion failed!").
func meaningful(line string) bool {
	switch {
	case strings.Contains(line, "pipe:1"),
		strings.Contains(line, "Broken pipe"),
		strings.HasPrefix(line, "Conversion failed"),
		strings.HasPrefix(line, "Exiting normally"):
		return false
	}
	return true
}
