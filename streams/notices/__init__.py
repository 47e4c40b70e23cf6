"""Proactive notices: delay episodes and the rules for notifying customers (pure)."""
