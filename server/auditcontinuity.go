package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/facegate/facegate"
	"github.com/facegate/facegate/audit"
)

// The server never signs over a log that was cut or rewritten: before it signs a checkpoint, and at start, it
// checks that the log still extends the last checkpoint it knows (the database's last one, the last line of
// the --audit-checkpoints file, and the last one it signed itself): the entry at that checkpoint's seq is there
// with the checkpoint's hash. Otherwise a restart on a truncated database would sign the cut head and append it
// to the external file, laundering the truncation. At start a log that does not extend them is refused (fail
// closed: audited requests are not served onto a tampered log); while running, the checkpoint is not signed.

// knownCheckpoint is a checkpoint the log must extend, and where it was found, in words for the operator
// ("the last in the database").
type knownCheckpoint struct {
	audit.Checkpoint
	where string
}

// signedHere is the where of a checkpoint this server signed.
const signedHere = "the last this server signed"

// maxCheckpointLine is the longest line lastFileCheckpoint reads (as audit.ReadCheckpoints).
const maxCheckpointLine = 1 << 20

// checkExtends returns an error, for the operator, when the log does not extend one of the checkpoints;
// consequence says what the server does about it.
func (s *Server) checkExtends(ctx context.Context, consequence string, known ...knownCheckpoint) error {
	for _, k := range known {
		if k.Seq <= 0 {
			continue // the checkpoint of an empty log holds for every log
		}
		es, err := s.cfg.Store.AuditEntries(ctx, facegate.AuditFilter{AfterSeq: k.Seq - 1, Limit: 1})
		if err != nil {
			return fmt.Errorf("server: reading audit entry %d: %w", k.Seq, err)
		}
		var why string
		switch {
		case len(es) == 0:
			head, err := s.cfg.Store.AuditHead(ctx)
			if err != nil {
				return fmt.Errorf("server: reading the audit log's head: %w", err)
			}
			why = "the log is empty"
			if head != nil {
				why = fmt.Sprintf("the log ends at entry %d", head.Seq)
			}
		case es[0].Seq != k.Seq:
			why = fmt.Sprintf("entry %d is missing", k.Seq)
		case es[0].Hash != k.Hash:
			why = fmt.Sprintf("entry %d has hash %.12s… but the checkpoint says %.12s…", k.Seq, es[0].Hash, k.Hash)
		default:
			continue
		}
		cmd := "facegate audit verify --data DIR"
		if s.cfg.AuditKey != nil {
			cmd += " --public-key " + audit.EncodePublicKey(s.cfg.AuditKey.Public().(ed25519.PublicKey))
		}
		if s.cfg.AuditCheckpoints != "" {
			cmd += " --checkpoints " + s.cfg.AuditCheckpoints
		}
		backup := ""
		if s.cfg.AuditCheckpoints != "" {
			backup = " (a backup older than this checkpoint then ends before it: keep " + s.cfg.AuditCheckpoints +
				" as the record of what was lost, and give --audit-checkpoints a new file)"
		}
		return fmt.Errorf("server: the audit log does not extend checkpoint %d (%s, signed %s): %s: it was truncated or rewritten, %s; run '%s' and restore the database from a backup%s",
			k.Seq, k.where, k.Time.UTC().Format(time.RFC3339), why, consequence, cmd, backup)
	}
	return nil
}

// startCheckpoints checks, at start, that the log extends the last checkpoint of the database (stored) and of
// the checkpoints file; s.known becomes the later of them.
func (s *Server) startCheckpoints(ctx context.Context, stored []audit.Checkpoint) error {
	var known []knownCheckpoint
	if n := len(stored); n > 0 {
		last := stored[0]
		for _, c := range stored {
			if c.Seq > last.Seq {
				last = c
			}
		}
		known = append(known, knownCheckpoint{last, "the last in the database"})
	}
	file, err := s.fileCheckpoint()
	if err != nil {
		return err
	}
	known = append(known, file...)
	if err := s.checkExtends(ctx, "so the server does not start (it would record audited requests on a tampered log)", known...); err != nil {
		return err
	}
	for _, k := range known {
		if s.known == nil || k.Seq > s.known.Seq {
			s.known = &k
		}
	}
	return nil
}

// fileCheckpoint returns the last checkpoint of the --audit-checkpoints file (none when there is no file, it
// is empty, or there is no such file yet).
func (s *Server) fileCheckpoint() ([]knownCheckpoint, error) {
	if s.cfg.AuditCheckpoints == "" {
		return nil, nil
	}
	c, ok, err := lastFileCheckpoint(s.cfg.AuditCheckpoints)
	if err != nil || !ok {
		return nil, err
	}
	return []knownCheckpoint{{c, "the last in " + s.cfg.AuditCheckpoints}}, nil
}

// lastFileCheckpoint reads the last checkpoint of a checkpoints file (JSON lines) from its end, without reading
// the whole file. ok is false when the file is missing or holds none. A torn last line (no newline: a crash
// while it was written) is skipped, as audit.ReadCheckpoints does; a last complete line that is not a
// checkpoint is an error.
func lastFileCheckpoint(path string) (c audit.Checkpoint, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("server: audit checkpoints file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return c, false, fmt.Errorf("server: audit checkpoints file: %w", err)
	}
	size := fi.Size()
	for n := min(size, 4096); ; n = min(size, 2*n) {
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, size-n); err != nil && !errors.Is(err, io.EOF) {
			return c, false, fmt.Errorf("server: audit checkpoints file: %w", err)
		}
		if end := bytes.LastIndexByte(buf, '\n'); end < len(buf)-1 { // a torn last line
			buf = buf[:end+1]
		}
		body := bytes.TrimRight(buf, "\r\n\t ")
		i := bytes.LastIndexByte(body, '\n')
		if n < size && (len(body) == 0 || i < 0) { // the last line may begin before the window
			if n >= maxCheckpointLine {
				return c, false, fmt.Errorf("server: audit checkpoints file %s: its last line is longer than %d bytes: it is not a checkpoints file", path, maxCheckpointLine)
			}
			continue
		}
		line := bytes.TrimSpace(body[i+1:])
		if len(line) == 0 {
			return c, false, nil
		}
		if err := json.Unmarshal(line, &c); err != nil {
			return c, false, fmt.Errorf("server: audit checkpoints file %s: its last line is not a checkpoint: %w", path, err)
		}
		c.Time = c.Time.UTC()
		return c, true, nil
	}
}
