"""Tables, sessions, queries and migrations; imports nothing of the other packages."""

# Every table in Base.metadata (migrations, schema checks) whichever of storage's modules is imported first.
from storage import mlops_tables, models  # noqa: F401
