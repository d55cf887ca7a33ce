"""Use cases shared by Slack, the jobs and the CLI (ingest, classify, stats, evaluation, time parsing); neither Slack
nor click."""
