-- gome-es store schema 2: which process drives which run (gome_es.lease).
-- One row per run; a holder proves it is alive by advancing `heartbeat`.
CREATE TABLE run_leases (
    run_id     TEXT    PRIMARY KEY,
    token      TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    host       TEXT    NOT NULL,
    proc_start TEXT,
    since      REAL    NOT NULL,
    heartbeat  REAL    NOT NULL
);
