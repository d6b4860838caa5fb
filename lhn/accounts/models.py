"""Users, institutions, verification requests and personal access tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lhn.database import Base, LabelledEnum, TimestampMixin, UTCDateTime, utcnow
from lhn.database import str_enum as _enum


class Role(LabelledEnum):
    PATIENT = "patient"
    CAREGIVER = "caregiver"
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    OTHER = "other"

    @property
    def needs_verification(self) -> bool:
        return self in (Role.CLINICIAN, Role.RESEARCHER)


class InstitutionKind(LabelledEnum):
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    UNIVERSITY = "university"
    PATIENT_ORGANISATION = "patient_organisation"
    COMPANY = "company"
    OTHER = "other"


INSTITUTION_SLUG_MAX = 80


class Institution(TimestampMixin, Base):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(INSTITUTION_SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[InstitutionKind] = mapped_column(_enum(InstitutionKind, "institution_kind"))
    city: Mapped[str] = mapped_column(String(120), default="")
    country: Mapped[str] = mapped_column(String(120), default="")


FORMER_MEMBER = "former_member"  # the shared account (accounts.mydata.former_member); reserved in services


class User(TimestampMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)  # stored lowercase
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lowercase
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Appointed by a site admin to decide verification requests (site staff, with the admins).
    is_verifier: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last day a verification holds (a licence lapses); None: until revoked.
    verified_until: Mapped[date | None] = mapped_column(Date)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id", ondelete="SET NULL"))
    bio: Mapped[str] = mapped_column(Text, default="")
    bio_html: Mapped[str] = mapped_column(Text, default="")
    # When the person opened a confirmation link sent to `email` (None: not yet; accounts from before issue 13
    # too). Until then LHN sends the address only account mail: confirmation, password reset, security notices.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on logout, password change and reset: every cookie carrying the old value stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Moderation (issue 6). A site suspension: no login, no token, no session while it runs; it ends
    # by itself at `suspended_until` (checked on every request, so no restart is needed).
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspension_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")
    # The latest end of any mute or suspension running for this person, so pages show the sanction
    # banner without a query for everyone else (moderation.sanctions keeps it).
    sanctioned_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Non-empty when a moderator hid this profile's bio: readers see the reason instead of the text.
    bio_hidden_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")

    # Chat: whether others see this person in "who is online" (opt-out; patient spaces show counts only).
    show_presence: Mapped[bool] = mapped_column(default=True, server_default=sa_true())

    institution: Mapped[Institution | None] = relationship(lazy="joined", innerjoin=False)

    # Flask-Login protocol -----------------------------------------------------------------------
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return True

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_former_member(self) -> bool:
        """The shared account a deleted member's kept writing is shown under: a person with no role to claim."""
        return self.username == FORMER_MEMBER

    # Badges ------------------------------------------------------------------------------------
    @property
    def is_verified(self) -> bool:
        """Verified clinical or research role: approved by site staff, not revoked, not past its expiry
        date, and not suspended (a suspension suspends the badge). A claim never approved is never verified."""
        if not self.role.needs_verification or self.verified_at is None:
            return False
        now = utcnow()
        if self.verified_until is not None and self.verified_until < now.date():
            return False
        return self.suspended_until is None or self.suspended_until <= now

    @property
    def verification_lapsed(self) -> bool:
        """Approved, but its last day (the licence's expiry) has passed."""
        until = self.verified_until
        return self.verified_at is not None and until is not None and until < utcnow().date()

    @property
    def is_staff(self) -> bool:
        """Site staff: admins and the verifiers they appoint (verification decisions are theirs)."""
        return self.is_admin or self.is_verifier

    @property
    def verification_state(self) -> str:
        """'verified', 'claimed' (clinician/researcher without approval) or '' (no claim to verify)."""
        if not self.role.needs_verification:
            return ""
        return "verified" if self.is_verified else "claimed"


class VerificationStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class VerificationRequest(TimestampMixin, Base):
    """Evidence a clinician or researcher submits; a reviewer's decision is kept for the profile."""

    __tablename__ = "verification_request"
    __table_args__ = (Index("ix_verification_request_status", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "verification_role"))
    licence_number: Mapped[str] = mapped_column(String(60), default="")
    licence_issuer: Mapped[str] = mapped_column(String(160), default="")
    institutional_email: Mapped[str] = mapped_column(String(254), default="")
    orcid: Mapped[str] = mapped_column(String(19), default="")
    statement: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[VerificationStatus] = mapped_column(
        _enum(VerificationStatus, "verification_status"), default=VerificationStatus.PENDING
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    # An approval may end by itself (the licence's expiry) or be revoked by staff, with a reason.
    expires_on: Mapped[date | None] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def state(self) -> str:
        """pending, rejected, approved, revoked or expired: what the history shows."""
        if self.status != VerificationStatus.APPROVED:
            return self.status.value
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_on is not None and self.expires_on < utcnow().date():
            return "expired"
        return "approved"


class ApiToken(TimestampMixin, Base):
    """A personal access token. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # first characters, so people can tell tokens apart
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
