"""Connectors that bring mentions in from outside: one module per kind of source, the same small interface."""
