"""brandpulse application: settings, CLI, Slack listeners and scheduled jobs; the only package that wires the others."""
