-- gome-es store schema 3: two read-only views over the event log, for plain SQL.
-- runs_v: one row per run (task, strategy, reasoner, seed, status, duration, iterations,
--         best validation score, selected submission, test score, medal).
-- steps_v: one row per step (run, trace, iteration, attempt): hypothesis, component, the
--         drawn candidate and its dimension scores, validation score and verdict, failure
--         class, duration, LLM cost.
-- Both read payloads with json_extract only, so an older event shape yields NULLs, never
-- an error. Example: which hypotheses were accepted in trace t1?
--   SELECT iteration, attempt, hypothesis, val_score FROM steps_v
--   WHERE run_id = 'RUN' AND trace = 't1' AND accepted = 1 ORDER BY iteration, attempt;
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
    c.last_ts - coalesce(s.ts, c.first_ts)                AS duration_s,
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
LEFT JOIN best b ON b.run_id = c.run_id
LEFT JOIN finished f ON f.run_id = c.run_id
LEFT JOIN selected sel ON sel.run_id = c.run_id
LEFT JOIN graded g ON g.run_id = c.run_id;

CREATE VIEW steps_v AS
WITH
code AS (
    SELECT run_id, trace_id, seq,
           json_extract(payload, '$.iteration')   AS iteration,
           coalesce(json_extract(payload, '$.attempt'), 0) AS attempt,
           json_extract(payload, '$.solution_id') AS solution_id,
           json_extract(payload, '$.code_sha')    AS code_sha,
           json_extract(payload, '$.summary')     AS summary
    FROM events WHERE type = 'CodeGenerated'
),
hyp AS (
    SELECT run_id, trace_id, json_extract(payload, '$.iteration') AS iteration, payload, max(seq) AS seq
    FROM events WHERE type = 'HypothesisProposed' GROUP BY run_id, trace_id, iteration
),
ex AS (
    SELECT run_id, json_extract(payload, '$.solution_id') AS solution_id, payload, max(seq) AS seq,
           count(*) AS executions
    FROM events WHERE type = 'ExecutionFinished' GROUP BY run_id, solution_id
),
judged AS (
    SELECT run_id, json_extract(payload, '$.solution_id') AS solution_id, payload, max(seq) AS seq
    FROM events WHERE type = 'ValidationJudged' GROUP BY run_id, solution_id
),
llm AS (
    SELECT run_id, json_extract(payload, '$.key') AS key,
           coalesce(json_extract(payload, '$.cost_usd'), 0.0) AS cost_usd,
           coalesce(json_extract(payload, '$.prompt_tokens'), 0)
             + coalesce(json_extract(payload, '$.completion_tokens'), 0) AS tokens
    FROM events WHERE type = 'LLMResponded'
)
SELECT
    c.run_id                                            AS run_id,
    c.trace_id                                          AS trace,
    c.iteration                                         AS iteration,
    c.attempt                                           AS attempt,
    c.solution_id                                       AS solution_id,
    json_extract(h.payload, '$.hypothesis')             AS hypothesis,
    json_extract(h.payload, '$.component')              AS component,
    json_extract(h.payload, '$.draw.chosen_id')         AS drawn,
    json_array_length(h.payload, '$.candidates')        AS candidates,
    (SELECT json_extract(cand.value, '$.scores') FROM json_each(h.payload, '$.candidates') cand
      WHERE json_extract(cand.value, '$.id') = json_extract(h.payload, '$.draw.chosen_id')) AS scores,
    (SELECT json_extract(cand.value, '$.total') FROM json_each(h.payload, '$.candidates') cand
      WHERE json_extract(cand.value, '$.id') = json_extract(h.payload, '$.draw.chosen_id')) AS score_total,
    c.summary                                           AS summary,
    coalesce(json_extract(j.payload, '$.val_score'), json_extract(x.payload, '$.val_score')) AS val_score,
    json_extract(j.payload, '$.accepted')               AS accepted,
    CASE WHEN j.payload IS NULL THEN NULL
         WHEN json_extract(j.payload, '$.accepted') = 1 THEN 'accepted'
         ELSE 'rejected' END                            AS verdict,
    json_extract(j.payload, '$.first_failure')          AS rejected_at,
    json_extract(x.payload, '$.failure')                AS failure,
    json_extract(x.payload, '$.exit_code')              AS exit_code,
    json_extract(x.payload, '$.duration_s')             AS duration_s,
    x.executions                                        AS executions,
    (SELECT sum(l.cost_usd) FROM llm l WHERE l.run_id = c.run_id
        AND l.key LIKE c.trace_id || '/it' || c.iteration || '/%/' || c.attempt) AS cost_usd,
    (SELECT sum(l.tokens) FROM llm l WHERE l.run_id = c.run_id
        AND l.key LIKE c.trace_id || '/it' || c.iteration || '/%/' || c.attempt) AS tokens,
    c.code_sha                                          AS code_sha,
    c.seq                                               AS seq
FROM code c
LEFT JOIN hyp h ON h.run_id = c.run_id AND h.trace_id = c.trace_id AND h.iteration = c.iteration
LEFT JOIN ex x ON x.run_id = c.run_id AND x.solution_id = c.solution_id
LEFT JOIN judged j ON j.run_id = c.run_id AND j.solution_id = c.solution_id;
