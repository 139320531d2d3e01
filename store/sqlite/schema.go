package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order, each in its own transaction; migration i (1-based) brings the schema to
// version i. Never edit a released migration: append a new one.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE galleries (
	id            TEXT    NOT NULL PRIMARY KEY,
	name          TEXT    NOT NULL UNIQUE,
	description   TEXT    NOT NULL DEFAULT '',
	threshold     REAL    NOT NULL DEFAULT 0,
	fmr           REAL    NOT NULL DEFAULT 0,
	no_thumbnails INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE subjects (
	id           TEXT    NOT NULL PRIMARY KEY,
	gallery_id   TEXT    NOT NULL REFERENCES galleries(id) ON DELETE CASCADE,
	external_id  TEXT    NOT NULL DEFAULT '',
	display_name TEXT    NOT NULL DEFAULT '',
	metadata     TEXT,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
) STRICT;
-- Keyset pagination within a gallery, the gallery cascade, and the parent key of faces' foreign key.
CREATE UNIQUE INDEX subjects_gallery_id ON subjects(gallery_id, id);
CREATE UNIQUE INDEX subjects_external_id ON subjects(gallery_id, external_id) WHERE external_id <> '';

CREATE TABLE faces (
	id         TEXT    NOT NULL PRIMARY KEY,
	gallery_id TEXT    NOT NULL,
	subject_id TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	box        TEXT    NOT NULL, -- JSON facegate.Box
	quality    TEXT    NOT NULL, -- JSON facegate.Quality
	source     TEXT    NOT NULL DEFAULT '', -- SHA-256 of the enrolment image, hex; '' when unknown
	template   BLOB    NOT NULL, -- little-endian float32
	-- Last, so that reading the other columns never walks the thumbnail's overflow pages.
	thumbnail  BLOB,
	-- A face belongs to a subject of the same gallery.
	FOREIGN KEY (gallery_id, subject_id) REFERENCES subjects(gallery_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX faces_subject ON faces(gallery_id, subject_id);
-- One face per enrolment image and subject: re-sending an image (a retried request, a resumed bulk import)
-- cannot enrol it twice.
CREATE UNIQUE INDEX faces_source ON faces(subject_id, source) WHERE source <> '';

CREATE TABLE api_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL DEFAULT '',
	role       TEXT    NOT NULL,
	hash       BLOB    NOT NULL UNIQUE,
	revoked    INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
) STRICT;
`,
	// 2: video streams and the face crops of their match events.
	`
CREATE TABLE streams (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL UNIQUE,
	config     TEXT    NOT NULL, -- JSON facegate.Stream without id, name and times
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- Crops of match events only: faces that match nothing are never written here. Deleted when they expire, with
-- their stream, and with the subject or gallery they show.
CREATE TABLE match_crops (
	event_id   TEXT    NOT NULL PRIMARY KEY,
	stream_id  TEXT    NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
	gallery_id TEXT    NOT NULL,
	subject_id TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	jpeg       BLOB    NOT NULL
) STRICT;
CREATE INDEX match_crops_expiry ON match_crops(expires_at);
CREATE INDEX match_crops_stream ON match_crops(stream_id);
CREATE INDEX match_crops_subject ON match_crops(gallery_id, subject_id);
`,
	// 3: governance: gallery purpose, consent and retention; minors and watchlist entries; consent records.
	`
ALTER TABLE galleries ADD COLUMN purpose TEXT NOT NULL DEFAULT 'access_control';
ALTER TABLE galleries ADD COLUMN consent_exempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE galleries ADD COLUMN legal_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE galleries ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subjects ADD COLUMN minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE subjects ADD COLUMN watch TEXT; -- JSON facegate.WatchEntry

CREATE TABLE consents (
	id           TEXT    NOT NULL PRIMARY KEY,
	gallery_id   TEXT    NOT NULL,
	subject_id   TEXT    NOT NULL,
	given_by     TEXT    NOT NULL,
	guardian     INTEGER NOT NULL DEFAULT 0,
	purposes     TEXT    NOT NULL, -- JSON array of purposes
	evidence     TEXT    NOT NULL,
	recorded_by  TEXT    NOT NULL DEFAULT '',
	given_at     INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL DEFAULT 0, -- 0: until withdrawn
	withdrawn_at INTEGER NOT NULL DEFAULT 0, -- 0: in force
	FOREIGN KEY (gallery_id, subject_id) REFERENCES subjects(gallery_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX consents_subject ON consents(gallery_id, subject_id);
`,
	// 4: human review of watchlist matches: alerts and remembered "not this person" exemplars.
	`
CREATE TABLE alerts (
	id          TEXT    NOT NULL PRIMARY KEY,
	gallery_id  TEXT    NOT NULL,
	subject_id  TEXT    NOT NULL,
	stream_id   TEXT    NOT NULL DEFAULT '',
	event_id    TEXT    NOT NULL DEFAULT '',
	track       TEXT    NOT NULL DEFAULT '',
	score       REAL    NOT NULL,
	status      TEXT    NOT NULL,
	created_at  INTEGER NOT NULL,
	probe       BLOB,    -- little-endian float32, only while pending
	reviewed_by TEXT    NOT NULL DEFAULT '',
	reviewed_at INTEGER NOT NULL DEFAULT 0,
	note        TEXT    NOT NULL DEFAULT '',
	FOREIGN KEY (gallery_id, subject_id) REFERENCES subjects(gallery_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX alerts_status ON alerts(status, created_at);
CREATE INDEX alerts_subject ON alerts(gallery_id, subject_id);

CREATE TABLE negatives (
	id         TEXT    NOT NULL PRIMARY KEY,
	gallery_id TEXT    NOT NULL,
	subject_id TEXT    NOT NULL,
	alert_id   TEXT    NOT NULL,
	template   BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	FOREIGN KEY (gallery_id, subject_id) REFERENCES subjects(gallery_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX negatives_subject ON negatives(gallery_id, subject_id);
`,
	// 5: the audit log: append-only (triggers refuse UPDATE and DELETE), hash-chained, with signed checkpoints.
	`
CREATE TABLE audit_log (
	seq     INTEGER NOT NULL PRIMARY KEY,
	time    INTEGER NOT NULL,
	actor   TEXT    NOT NULL,
	action  TEXT    NOT NULL,
	target  TEXT    NOT NULL DEFAULT '',
	outcome TEXT    NOT NULL,
	details TEXT, -- JSON object of strings
	prev    TEXT    NOT NULL,
	hash    TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_log_time ON audit_log(time);
CREATE INDEX audit_log_actor ON audit_log(actor, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE audit_checkpoints (
	seq       INTEGER NOT NULL,
	hash      TEXT    NOT NULL,
	time      INTEGER NOT NULL,
	key_id    TEXT    NOT NULL,
	signature TEXT    NOT NULL,
	PRIMARY KEY (seq, key_id)
) STRICT;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
`,
	// 6: small settings of the deployment.
	`
CREATE TABLE settings (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;
`,
	// 7: grouped alerts: later sightings of a subject on a stream attach to its open alert (count, first and
	// last seen); the best sighting's score, probe and event are kept.
	`
ALTER TABLE alerts ADD COLUMN sightings  INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN first_seen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN last_seen  INTEGER NOT NULL DEFAULT 0;
UPDATE alerts SET first_seen = created_at, last_seen = created_at;
CREATE INDEX alerts_group ON alerts(gallery_id, subject_id, stream_id, last_seen);
`,
	// 8: crowd history: every crowd interval of a stream (facegate.Crowd as JSON; aggregates only), read by
	// stream and period and deleted by age (the crowd retention) or with its stream.
	`
CREATE TABLE crowds (
	id        INTEGER NOT NULL PRIMARY KEY,
	stream_id TEXT    NOT NULL REFERENCES streams(id) ON DELETE CASCADE,
	event_id  TEXT    NOT NULL DEFAULT '',
	from_at   INTEGER NOT NULL,
	to_at     INTEGER NOT NULL,
	figures   TEXT    NOT NULL
) STRICT;
CREATE INDEX crowds_stream ON crowds(stream_id, to_at);
CREATE INDEX crowds_age ON crowds(to_at);
`,
}

// migrate brings the schema up to the latest version.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for {
		done, err := db.migrateOne(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateOne applies the next migration, if any, reading the version inside the same write transaction so that
// two processes opening the database at once do not both apply it.
func (db *DB) migrateOne(ctx context.Context) (done bool, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&v); err != nil {
			return err
		}
		switch {
		case v > len(migrations):
			return fmt.Errorf("schema version %d is newer than this build knows (%d)", v, len(migrations))
		case v == len(migrations):
			done = true
			return nil
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO schema_version(version, applied_at) VALUES (?, ?)", v+1, now().UnixNano())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("sqlite: migrate %s: %w", db.path, err)
	}
	return done, nil
}
