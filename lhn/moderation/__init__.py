"""Moderation and trust: flags, one review queue, the public log, sanctions, redaction, audit, my data."""
