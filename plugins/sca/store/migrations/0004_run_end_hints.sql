-- Run-end hints: a service's webhook said "run X ended". Only a hint: the waiting trigger then asks
-- the service's authenticated API for the run's status; nothing here is trusted as a result.
-- Written by the receiver in the Airflow API server (sca.hints.receiver), read once a second by
-- each triggerer's watcher (sca.hints.watcher) for the runs its triggers wait on.
CREATE TABLE run_end_hints (
    service      text        NOT NULL,
    run_uuid     text        NOT NULL,
    project      text        NOT NULL,
    status       text,
    received_at  timestamptz NOT NULL DEFAULT now(),
    deliveries   integer     NOT NULL DEFAULT 1,
    PRIMARY KEY (service, run_uuid)
);
CREATE INDEX run_end_hints_age ON run_end_hints (received_at);
