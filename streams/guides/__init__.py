"""Guides: declarative processes per contact reason, run step by step on the desk and audited."""
