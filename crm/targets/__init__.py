"""Admin pages: yearly targets, counting rules and stall thresholds."""
