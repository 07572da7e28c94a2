-- gome-es store schema 4: signatures over a run's chain head (gome_es.trust.signing).
-- Kept when a signed export is imported under its own run id; `gome verify RUN --key PUB` checks
-- the one row of a run against the chain, and `gome export` carries it on while it covers the head.
CREATE TABLE run_signatures (
    run_id     TEXT    PRIMARY KEY,
    head_seq   INTEGER NOT NULL,
    head_hash  TEXT    NOT NULL,
    alg        TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,
    signature  TEXT    NOT NULL,
    stored_ts  REAL    NOT NULL
);
