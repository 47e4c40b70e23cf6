"""What every edge service (gateway, desk, notifier) shares: exactly-once publishing."""
