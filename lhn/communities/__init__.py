"""Communities: condition communities, their members, moderators and join requests."""
