package eval

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress reports the progress of a long-running loop on one line.
//
// On a terminal (w is an *os.File whose mode is a character device) the line
// is redrawn in place at most every 200 ms:
//
//	label [=========>                    ] 1234/7701 16% 75.3/s ETA 1m26s
//
// Anywhere else (a file, a pipe, a bytes.Buffer) a plain line is written each
// time another 10% is completed (up to 90%; Done writes the last one), so
// logs stay short. With an unknown total
// (total <= 0) the bar, percentage and ETA are left out, and non-terminal
// output gets a line at most every 10 s. Done writes the final line.
//
// Progress is safe for concurrent use. Write errors are ignored: progress
// output is best effort and must not disturb the work it reports on.
type Progress struct {
	mu       sync.Mutex
	w        io.Writer
	label    string
	total    int
	done     int
	tty      bool
	start    time.Time
	last     time.Time // last time a line was written
	lastTen  int       // tenths of total reported so far (non-terminal)
	lastLen  int       // length of the last terminal line, for clearing
	finished bool
	now      func() time.Time
}

const (
	progressInterval        = 200 * time.Millisecond
	progressUnknownInterval = 10 * time.Second
	progressBarWidth        = 30
	maxETA                  = 9999 * time.Hour
)

// NewProgress returns a Progress writing to w for a loop of total steps.
func NewProgress(w io.Writer, label string, total int) *Progress {
	p := &Progress{w: w, label: label, total: total, tty: isTerminal(w), now: time.Now}
	p.start = p.now()
	p.last = p.start
	return p
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Add records n more completed steps and redraws the line if it is due.
func (p *Progress) Add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.finished {
		return
	}
	now := p.now()
	switch {
	case p.tty:
		if now.Sub(p.last) >= progressInterval {
			p.emit(now, false)
		}
	case p.total > 0:
		// The 100% line is left to Done, which adds the elapsed time.
		if ten := min(p.done, p.total) * 10 / p.total; ten > p.lastTen && ten < 10 {
			p.lastTen = ten
			p.emit(now, false)
		}
	default:
		if now.Sub(p.last) >= progressUnknownInterval {
			p.emit(now, false)
		}
	}
}

// Done writes the final line (ending it with a newline). Later calls do
// nothing.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	p.emit(p.now(), true)
}

// emit writes the current line; the caller holds p.mu.
func (p *Progress) emit(now time.Time, final bool) {
	p.last = now
	line := p.format(now, final)
	if !p.tty {
		_, _ = io.WriteString(p.w, line+"\n")
		return
	}
	pad := ""
	if n := len(line); n < p.lastLen {
		pad = strings.Repeat(" ", p.lastLen-n)
	}
	p.lastLen = len(line)
	end := ""
	if final {
		end = "\n"
	}
	_, _ = io.WriteString(p.w, "\r"+line+pad+end)
}

// format renders the progress line.
func (p *Progress) format(now time.Time, final bool) string {
	var b strings.Builder
	if p.label != "" {
		b.WriteString(p.label)
		b.WriteByte(' ')
	}
	elapsed := now.Sub(p.start)
	speed := 0.0
	if elapsed > 0 {
		speed = float64(p.done) / elapsed.Seconds()
	}
	if p.total > 0 {
		frac := min(max(float64(p.done)/float64(p.total), 0), 1)
		filled := int(frac * progressBarWidth)
		b.WriteByte('[')
		switch {
		case filled >= progressBarWidth:
			b.WriteString(strings.Repeat("=", progressBarWidth))
		default:
			b.WriteString(strings.Repeat("=", filled))
			b.WriteByte('>')
			b.WriteString(strings.Repeat(" ", progressBarWidth-filled-1))
		}
		fmt.Fprintf(&b, "] %d/%d %d%%", p.done, p.total, int(frac*100))
	} else {
		fmt.Fprintf(&b, "%d", p.done)
	}
	fmt.Fprintf(&b, " %.1f/s", speed)
	switch {
	case final:
		fmt.Fprintf(&b, " in %s", elapsed.Round(time.Second/10))
	case p.total > 0 && speed > 0:
		left := max(p.total-p.done, 0)
		secs := min(float64(left)/speed, maxETA.Seconds())
		eta := time.Duration(secs * float64(time.Second))
		fmt.Fprintf(&b, " ETA %s", eta.Round(time.Second))
	case p.total > 0:
		b.WriteString(" ETA ?")
	}
	return b.String()
}
