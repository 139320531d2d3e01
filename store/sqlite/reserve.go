package sqlite

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// ReserveFile is the name of the reserve file in the data directory (see Reserve).
const ReserveFile = "facegate.reserve"

// Reserve keeps n bytes of disk space for when the disk fills up: a file of n bytes in the data directory
// (created or resized now). When SQLite reports a full disk, the store deletes the file, logs an error and
// tries the write once more, so that erasures and their audit entries still go through; ReserveBytes is 0
// from then on. Restarting the server after freeing space makes the reserve again. n <= 0 removes it.
func (db *DB) Reserve(n int64) error {
	path := filepath.Join(filepath.Dir(db.path), ReserveFile)
	if n <= 0 {
		db.reserve.Store(0)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("sqlite: reserve: %w", err)
		}
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: reserve: %w", err)
	}
	// Written, not only truncated to size: a sparse file would reserve nothing.
	err = f.Truncate(0)
	buf := make([]byte, 1<<20)
	for left := n; err == nil && left > 0; left -= int64(len(buf)) {
		_, err = f.Write(buf[:min(left, int64(len(buf)))])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("sqlite: reserve %d bytes in %s: %w", n, path, err)
	}
	db.reserve.Store(n)
	return nil
}

// ReserveBytes is the size of the reserve file: what Reserve made, 0 once a full disk released it.
func (db *DB) ReserveBytes() int64 { return db.reserve.Load() }

// releaseReserve deletes the reserve file after a full-disk error; it reports whether there was one to free.
func (db *DB) releaseReserve() bool {
	n := db.reserve.Swap(0)
	if n == 0 {
		return false
	}
	path := filepath.Join(filepath.Dir(db.path), ReserveFile)
	if err := os.Remove(path); err != nil {
		slog.Error("sqlite: the disk is full and the reserve file could not be released", "path", path, "err", err)
		return false
	}
	slog.Error("sqlite: the disk is full: released the reserve file so that erasures and audit entries still work; free disk space and restart to make a new reserve",
		"path", path, "bytes", n)
	return true
}

// SetMaxSize caps the database file at about n bytes (SQLite's max_page_count, on the writing connection; it
// cannot go below the current size). Writes beyond it fail as on a full disk (facegate.ErrStorageFull).
func (db *DB) SetMaxSize(ctx context.Context, n int64) error {
	var pageSize int64
	if err := db.write.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return fmt.Errorf("sqlite: max size: %w", err)
	}
	var pages int64
	if err := db.write.QueryRowContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", max(1, n/pageSize))).Scan(&pages); err != nil {
		return fmt.Errorf("sqlite: max size: %w", err)
	}
	return nil
}
