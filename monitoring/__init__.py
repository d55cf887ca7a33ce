"""Metrics and the Prometheus, Alertmanager and Grafana configuration that acts on them."""
