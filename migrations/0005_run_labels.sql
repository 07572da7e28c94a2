-- gome-es store schema 5: tags and a note per run (`gome runs tag/untag/note`).
-- Labels are bookkeeping for people, not facts about the run: they are not events,
-- no hash covers them, and changing one leaves the run's chain (and `gome verify`) as it was.
CREATE TABLE run_tags (
    run_id TEXT NOT NULL,
    tag    TEXT NOT NULL,
    ts     REAL NOT NULL,
    PRIMARY KEY (run_id, tag)
);

CREATE TABLE run_notes (
    run_id TEXT PRIMARY KEY,
    note   TEXT NOT NULL,
    ts     REAL NOT NULL
);
