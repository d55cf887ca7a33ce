"""Tables, sessions, queries and migrations; imports nothing of the other packages."""
