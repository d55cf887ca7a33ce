"""Delivering the outbox beyond Slack: webhooks (signed as Standard Webhooks do) and e-mail (SMTP)."""
