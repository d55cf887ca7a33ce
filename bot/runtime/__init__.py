"""The long-running processes (``serve``, ``worker``, ``replay``) and what they are built from: the app context, the
ASGI app, the pipeline of jobs and outbox delivery."""
