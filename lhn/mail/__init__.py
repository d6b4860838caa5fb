from lhn.mail.services import Email, absolute_url, public_origin, queue_email, queue_emails

__all__ = ["Email", "absolute_url", "public_origin", "queue_email", "queue_emails"]
