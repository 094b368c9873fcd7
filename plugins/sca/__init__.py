"""SCA orchestration: pure API clients for ScanCode.io, PurlDB and FossID, and their Airflow glue.

Subpackages named after a service hold ``client.py`` (no Airflow import) beside the Airflow
hook, operators, sensors and triggers. ``sca.common`` holds what they really share.
"""
