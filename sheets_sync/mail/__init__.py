"""Email: rendering reminders and digests, and the transports that deliver them."""
