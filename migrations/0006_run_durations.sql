-- gome-es store schema 6: runs_v counts a run's duration as `gome show` counts its budget spent.
-- duration_s was last event minus RunStarted, so a fork (whose copied events keep their old times)
-- or a run resumed a day later counted the time nobody ran it. Now duration_s sums the time between
-- consecutive events except a RunResumed's gap (unless that resume passed --count-downtime), the
-- fold's spent_s; the gaps left out are the new column downtime_s. steps_v is unchanged.
-- A database opened read-only at schema 3-5 gets this runs_v as a TEMP view (report/tables.py).
DROP VIEW IF EXISTS runs_v;

CREATE VIEW runs_v AS
WITH
started AS (
    SELECT run_id, ts, payload FROM events WHERE type = 'RunStarted'
),
counts AS (
    SELECT run_id, count(*) AS events, min(ts) AS first_ts, max(ts) AS last_ts, max(seq) AS head_seq,
           sum(type = 'HypothesisProposed') AS iterations,
           sum(type = 'ExecutionFinished') AS executions,
           sum(type = 'ValidationJudged' AND json_extract(payload, '$.accepted') = 1) AS accepted,
           sum(type = 'RunResumed') AS resumes,
           coalesce(sum(CASE WHEN type = 'LLMResponded'
                             THEN json_extract(payload, '$.cost_usd') END), 0.0) AS cost_usd
    FROM events GROUP BY run_id
),
gaps AS (
    -- the time from each event to the next, as the fold counts it (gome_es.core.state.apply):
    -- never negative, and a resume's gap is downtime unless it was resumed with --count-downtime
    SELECT run_id, type, payload,
           max(0.0, ts - lag(ts) OVER (PARTITION BY run_id ORDER BY seq)) AS gap
    FROM events
),
spent AS (
    SELECT run_id,
           coalesce(sum(CASE WHEN type = 'RunResumed' AND NOT coalesce(json_extract(payload, '$.count_downtime'), 0)
                             THEN 0.0 ELSE gap END), 0.0) AS spent_s,
           coalesce(sum(CASE WHEN type = 'RunResumed' AND NOT coalesce(json_extract(payload, '$.count_downtime'), 0)
                             THEN gap ELSE 0.0 END), 0.0) AS downtime_s
    FROM gaps GROUP BY run_id
),
best AS (
    SELECT e.run_id,
           CASE WHEN json_extract(s.payload, '$.task.lower_is_better') = 1
                THEN min(json_extract(e.payload, '$.val_score'))
                ELSE max(json_extract(e.payload, '$.val_score')) END AS best_val_score
    FROM events e LEFT JOIN started s ON s.run_id = e.run_id
    WHERE e.type = 'SotaChanged' GROUP BY e.run_id
),
finished AS (
    SELECT run_id, json_extract(payload, '$.status') AS status, max(seq) AS seq
    FROM events WHERE type = 'RunFinished' GROUP BY run_id
),
selected AS (
    SELECT run_id, json_extract(payload, '$.solution_id') AS solution_id,
           json_extract(payload, '$.val_score') AS val_score, max(seq) AS seq
    FROM events WHERE type = 'SubmissionSelected' GROUP BY run_id
),
graded AS (
    SELECT run_id, payload, max(seq) AS seq FROM events WHERE type = 'SubmissionGraded' GROUP BY run_id
)
SELECT
    c.run_id                                              AS run_id,
    json_extract(s.payload, '$.task_id')                  AS task,
    coalesce(json_extract(s.payload, '$.config.strategy'), json_extract(s.payload, '$.origin')) AS strategy,
    json_extract(s.payload, '$.reasoner.kind')            AS reasoner,
    json_extract(s.payload, '$.reasoner.model')           AS model,
    json_extract(s.payload, '$.config.seed')              AS seed,
    json_extract(s.payload, '$.config.traces')            AS traces,
    json_extract(s.payload, '$.config.max_iterations')    AS max_iterations,
    json_extract(s.payload, '$.config.budget_s')          AS budget_s,
    json_extract(s.payload, '$.task.metric')              AS metric,
    json_extract(s.payload, '$.task.lower_is_better')     AS lower_is_better,
    json_extract(s.payload, '$.forked_from.run_id')       AS forked_from,
    json_extract(s.payload, '$.code_version')             AS code_version,
    CASE WHEN f.run_id IS NULL THEN 'unfinished'
         ELSE coalesce(f.status, 'finished') END          AS status,
    coalesce(s.ts, c.first_ts)                            AS started,
    c.last_ts                                             AS last_ts,
    sp.spent_s                                            AS duration_s,
    sp.downtime_s                                         AS downtime_s,
    c.events                                              AS events,
    c.iterations                                          AS iterations,
    c.executions                                          AS executions,
    c.accepted                                            AS accepted,
    c.resumes                                             AS resumes,
    c.cost_usd                                            AS cost_usd,
    b.best_val_score                                      AS best_val_score,
    sel.solution_id                                       AS selected,
    sel.val_score                                         AS selected_val_score,
    json_extract(g.payload, '$.report.score')             AS test_score,
    CASE WHEN g.payload IS NULL THEN NULL
         WHEN json_extract(g.payload, '$.report.gold_medal') = 1 THEN 'gold'
         WHEN json_extract(g.payload, '$.report.silver_medal') = 1 THEN 'silver'
         WHEN json_extract(g.payload, '$.report.bronze_medal') = 1 THEN 'bronze'
         ELSE 'none' END                                  AS medal,
    json_extract(g.payload, '$.report.above_median')      AS above_median
FROM counts c
LEFT JOIN started s ON s.run_id = c.run_id
LEFT JOIN spent sp ON sp.run_id = c.run_id
LEFT JOIN best b ON b.run_id = c.run_id
LEFT JOIN finished f ON f.run_id = c.run_id
LEFT JOIN selected sel ON sel.run_id = c.run_id
LEFT JOIN graded g ON g.run_id = c.run_id;
