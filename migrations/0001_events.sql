-- gome-es store schema 1: the append-only event log, content-addressed blobs
-- and fold snapshots.  One statement per semicolon; applied inside one
-- transaction by gome_es.store.schema and recorded in schema_migrations.

-- The log.  Primary key (run_id, seq): seq is gap-free per run, so a second
-- writer racing on the same seq is refused by the key itself.  WITHOUT ROWID
-- clusters each run's events together on disk, which is what reads scan.
CREATE TABLE events (
    run_id         TEXT    NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq >= 1),
    trace_id       TEXT,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    ts             REAL    NOT NULL,
    payload        TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE INDEX events_by_trace ON events (run_id, trace_id, seq);
CREATE INDEX events_by_type ON events (run_id, type, seq);

-- Facts are never rewritten.  Tampering with a raw SQLite tool has to drop
-- these first, and the hash chain still names the edited seq.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'gome events are append-only: rows cannot be updated');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'gome events are append-only: rows cannot be deleted');
END;

-- Large texts (prompts, responses, code, logs) keyed by the sha256 of their
-- raw bytes; codec says how `data` is compressed ('zlib' or 'raw').
CREATE TABLE blobs (
    sha   TEXT    PRIMARY KEY,
    codec TEXT    NOT NULL,
    size  INTEGER NOT NULL,
    data  BLOB    NOT NULL
);

-- Derived fold state, a cache only: safe to delete, ignored when its
-- state_schema differs from the code's.
CREATE TABLE snapshots (
    run_id       TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    state_schema INTEGER NOT NULL,
    state_json   TEXT    NOT NULL,
    created_ts   REAL    NOT NULL,
    PRIMARY KEY (run_id, state_schema, seq)
);
