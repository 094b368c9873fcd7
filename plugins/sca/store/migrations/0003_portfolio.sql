-- The nightly portfolio: one row per run of a portfolio DAG, one row per item of that run.
-- An item's scan is the mapped scan unit's row in `scans` with the same (dag_id, run_id, map_index).
CREATE TABLE portfolio_runs (
    dag_id        text        NOT NULL,
    run_id        text        NOT NULL,
    logical_date  timestamptz NOT NULL,
    name          text        NOT NULL,
    source        text        NOT NULL,
    items         integer     NOT NULL,
    planned_at    timestamptz NOT NULL DEFAULT now(),
    reported_at   timestamptz,
    report_uri    text,
    summary       jsonb,
    PRIMARY KEY (dag_id, run_id)
);
CREATE INDEX portfolio_runs_night ON portfolio_runs (dag_id, logical_date);

CREATE TABLE portfolio_items (
    dag_id     text    NOT NULL,
    run_id     text    NOT NULL,
    map_index  integer NOT NULL,
    item_id    text    NOT NULL,
    input      text    NOT NULL,
    owner      text,
    tags       text[]  NOT NULL DEFAULT '{}',
    tools      text[]  NOT NULL,
    pipelines  text[]  NOT NULL,
    PRIMARY KEY (dag_id, run_id, item_id),
    UNIQUE (dag_id, run_id, map_index),
    FOREIGN KEY (dag_id, run_id) REFERENCES portfolio_runs (dag_id, run_id) ON DELETE CASCADE
);

-- Conditional fetching: what a URL answered last time (its validators and the bytes they named),
-- so an unchanged source answers 304 and the stored bytes are used again. The URL itself is not
-- kept (a presigned URL carries its token): its sha256 is the key.
CREATE TABLE fetch_validators (
    url_sha256     text        PRIMARY KEY,
    shown_url      text        NOT NULL,
    etag           text,
    last_modified  text,
    sha256         text        NOT NULL,
    size           bigint      NOT NULL,
    media_type     text        NOT NULL,
    uri            text        NOT NULL,
    filename       text        NOT NULL,
    checked_at     timestamptz NOT NULL DEFAULT now()
);
