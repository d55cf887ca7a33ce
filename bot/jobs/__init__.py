"""Scheduled jobs: the registry (``registry``) at the top, the jobs, their scheduling, and ``deps.JobContext`` at
the bottom, which every job receives."""
