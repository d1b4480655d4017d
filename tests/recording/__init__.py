"""A test-only app recording what a test run produces, for the secrets scan (tests/security)."""
