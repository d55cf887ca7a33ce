"""The ``brandpulse`` command line: click commands that parse arguments, call core/ or runtime/, and render."""
