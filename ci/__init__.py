"""Parley's CI: the GitLab CI and Jenkins pipelines share the scripts in `ci/scripts` and this package."""
