"""PurlDB: pure client (client.py) and Airflow glue (hook, operators, sensors, triggers)."""
