"""The channel gateway: Twilio voice and SMS webhooks, inbound e-mail (SMTP), web chat.

Every inbound channel becomes canonical records on the contacts topic; nothing is answered
with success before the broker acknowledged what it had to publish.
"""
