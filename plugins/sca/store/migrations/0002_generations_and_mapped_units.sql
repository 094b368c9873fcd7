-- A stale scan (older than its reuse window, or made by another server version) is scanned again
-- under a new remote name, <name>-g<generation>, after the old remote object is deleted: a
-- failure between the two can never re-attach to the stale object.
ALTER TABLE ledger ADD COLUMN generation integer NOT NULL DEFAULT 1;

-- A mapped scan unit (the portfolio) runs once per map index within one DAG run.
ALTER TABLE scans ADD COLUMN map_index integer NOT NULL DEFAULT -1;
ALTER TABLE scans DROP CONSTRAINT scans_dag_id_run_id_unit_id_key;
ALTER TABLE scans ADD CONSTRAINT scans_unit_key UNIQUE (dag_id, run_id, unit_id, map_index);
