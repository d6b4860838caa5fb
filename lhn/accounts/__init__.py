"""Accounts: people, their roles and verification, institutions, and API tokens."""
