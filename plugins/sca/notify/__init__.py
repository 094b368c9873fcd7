"""Notifications of failed runs and FAIL / INCOMPLETE verdicts, by email and a Slack-compatible
webhook. ``settings`` and ``message`` are pure; ``notifiers`` and ``callbacks`` are the Airflow glue."""
