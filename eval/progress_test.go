package eval

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgressNonTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, "embed", 7701)
	var wg sync.WaitGroup
	for g := 0; g < 7; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1100; i++ {
				p.Add(1)
			}
		}()
	}
	wg.Wait()
	p.Add(1)
	p.Done()
	p.Done() // no-op
	p.Add(5) // after Done: counted, not printed
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// One line per 10% up to 90%, then the final line.
	if len(lines) != 10 {
		t.Fatalf("got %d lines, want 10:\n%s", len(lines), buf.String())
	}
	last := lines[len(lines)-1]
	if !strings.Contains(last, "7701/7701") || !strings.Contains(last, "100%") || !strings.HasPrefix(last, "embed [") {
		t.Errorf("final line %q", last)
	}
	if !strings.Contains(lines[0], "/7701 10%") {
		t.Errorf("first line %q", lines[0])
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("carriage return in non-terminal output")
	}
}

func TestProgressTerminalFormat(t *testing.T) {
	var buf bytes.Buffer
	clock := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p := NewProgress(&buf, "lfw", 2000)
	p.tty = true
	p.now = func() time.Time { return clock }
	p.start, p.last = clock, clock

	clock = clock.Add(100 * time.Millisecond)
	p.Add(10) // too soon: nothing
	if buf.Len() != 0 {
		t.Fatalf("wrote %q before 200 ms", buf.String())
	}
	clock = clock.Add(9900 * time.Millisecond)
	p.Add(990) // 1000 in 10 s
	want := "\rlfw [===============>              ] 1000/2000 50% 100.0/s ETA 10s"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	buf.Reset()
	clock = clock.Add(10 * time.Second)
	p.Add(1000)
	p.Done()
	got := buf.String()
	if !strings.HasSuffix(got, "\n") || !strings.Contains(got, "2000/2000 100%") || !strings.Contains(got, "[==============================]") {
		t.Errorf("final output %q", got)
	}
}

func TestProgressUnknownTotal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, "", 0)
	p.Add(3)
	p.Done()
	if got := buf.String(); !strings.HasPrefix(got, "3 ") || strings.Contains(got, "%") {
		t.Errorf("got %q", got)
	}
}
