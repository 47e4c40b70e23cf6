"""The notifier: sends the notices decided by the streams worker (SMS via Twilio, email via
SMTP), exactly once in effect; see docs/notices.md."""
