"""Satisfaction surveys after a contact: one per contact, on the contact's own channel."""
