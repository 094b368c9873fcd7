"""The scan pipeline's own logic, independent of Airflow: fetch an input, judge the results
(gate), render the reports. The DAGs call these from thin tasks."""
