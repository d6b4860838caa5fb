"""Notifications: in-app notices that listen to domain signals; unread count live in the header."""
