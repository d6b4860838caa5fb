"""Chat: channels per community, messages delivered live and replayed from the database."""
