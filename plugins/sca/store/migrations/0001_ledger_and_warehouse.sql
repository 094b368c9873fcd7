-- The scan ledger and the results warehouse (database `sca`).
-- Applied once by `python -m sca.store.migrate` (make up runs it); never edited after release:
-- a change is a new numbered file.

-- One row per remote scan: (service, scan key) -> what exists on the server and where its
-- results are. Written before any wait, so a retried or re-run task re-attaches through it.
CREATE TABLE ledger (
    service          text        NOT NULL,
    scan_key         text        NOT NULL,
    input_sha256     text        NOT NULL,
    settings         jsonb       NOT NULL,
    remote_name      text,
    remote_id        text,
    remote_url       text,
    server_version   text,
    state            text        NOT NULL
        CHECK (state IN ('submitting', 'submitted', 'finished', 'error', 'archived', 'deleted')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text,
    result_uri       text,
    last_dag_id      text,
    last_run_id      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    PRIMARY KEY (service, scan_key)
);
CREATE INDEX ledger_input ON ledger (input_sha256);

-- Every input ever fetched, by content.
CREATE TABLE inputs (
    sha256           text        PRIMARY KEY,
    size             bigint      NOT NULL,
    media_type       text,
    uri              text        NOT NULL,
    first_filename   text,
    first_seen       timestamptz NOT NULL DEFAULT now()
);

-- One row per scan of one package in one DAG run (a unit of sca_scan or of a portfolio).
CREATE TABLE scans (
    scan_id          text        PRIMARY KEY,
    dag_id           text        NOT NULL,
    run_id           text        NOT NULL,
    unit_id          text        NOT NULL,
    input_source     text        NOT NULL,
    input_kind       text,
    input_sha256     text        REFERENCES inputs (sha256),
    filename         text,
    verdict          text        CHECK (verdict IN ('pass', 'warn', 'fail', 'incomplete')),
    fail_level       text,
    gate_action      text,
    verdict_message  text,
    report_uri       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (dag_id, run_id, unit_id)
);

-- Each tool's part in a scan: ran, reused, skipped or errored (with its reason).
CREATE TABLE tool_runs (
    scan_id          text        NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool             text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('success', 'error', 'skipped')),
    reason           text,
    scan_key         text,
    remote_id        text,
    remote_name      text,
    remote_url       text,
    result_uri       text,
    reused           boolean     NOT NULL DEFAULT false,
    reused_from      timestamptz,
    duration_s       double precision,
    attempts         integer     NOT NULL DEFAULT 1,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scan_id, tool)
);

-- Detail tables: loaded per (scan_id, tool) with COPY; a second load replaces the first.
CREATE TABLE packages (
    scan_id                      text NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool                         text NOT NULL,
    purl                         text,
    type                         text,
    namespace                    text,
    name                         text,
    version                      text,
    declared_license_expression  text,
    other_license_expression     text,
    copyright                    text,
    homepage_url                 text,
    download_url                 text
);
CREATE INDEX packages_scan ON packages (scan_id, tool);
CREATE INDEX packages_license ON packages (declared_license_expression);

CREATE TABLE resources (
    scan_id                      text NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool                         text NOT NULL,
    path                         text NOT NULL,
    type                         text,
    size                         bigint,
    sha1                         text,
    sha256                       text,
    programming_language         text,
    detected_license_expression  text,
    compliance_alert             text
);
CREATE INDEX resources_scan ON resources (scan_id, tool);

CREATE TABLE license_detections (
    scan_id             text NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool                text NOT NULL,
    path                text,
    license_expression  text NOT NULL
);
CREATE INDEX license_detections_scan ON license_detections (scan_id, tool);
CREATE INDEX license_detections_expression ON license_detections (license_expression);

CREATE TABLE dependencies (
    scan_id                text NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool                   text NOT NULL,
    purl                   text,
    extracted_requirement  text,
    scope                  text,
    is_runtime             boolean,
    is_optional            boolean,
    is_pinned              boolean,
    datafile_path          text
);
CREATE INDEX dependencies_scan ON dependencies (scan_id, tool);

CREATE TABLE findings (
    scan_id   text NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool      text NOT NULL,
    severity  text NOT NULL,
    policy    text NOT NULL,
    subject   text
);
CREATE INDEX findings_scan ON findings (scan_id, tool);

CREATE TABLE purldb_matches (
    scan_id                      text NOT NULL REFERENCES scans (scan_id) ON DELETE CASCADE,
    tool                         text NOT NULL DEFAULT 'purldb',
    purl                         text NOT NULL,
    declared_license_expression  text,
    download_url                 text,
    path                         text NOT NULL
);
CREATE INDEX purldb_matches_scan ON purldb_matches (scan_id, tool);
