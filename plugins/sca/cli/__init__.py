"""Command-line entry points (``python -m sca.cli.demo``) and the Airflow REST client they use."""
