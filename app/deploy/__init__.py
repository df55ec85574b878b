"""Deployment artifacts: `parley render single` (systemd + nginx) and `parley render cluster` (nginx or HAProxy)."""
