"""The account emails, as jobs: each makes its link's token (only its hash is stored) and sends.

A job that runs again after a crash sends its email again with a new token; both links work
until one is used (single use ends the others, db/accounts.py). A job whose address is no
longer the account's (changed since) sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storekeeper.background.runner import Handler, utcnow
from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.jobs import Job
from storekeeper.domain.model import User
from storekeeper.domain.ports import UnitsOfWork
from storekeeper.domain.values import name_key
from storekeeper.mail.messages import compose
from storekeeper.mail.transport import Mailer

# Console pages the links open; the token goes in the fragment, which browsers never send to
# a server (no access log, no Referer keeps it).
VERIFY_PAGE = "/console/verify"
RESET_PAGE = "/console/reset"
FORGOT_PAGE = "/console/forgot"


@dataclass(frozen=True, slots=True)
class AccountMail:
    """What the account emails need: the database, a way to send, and where links point."""

    units: UnitsOfWork
    mailer: Mailer
    public_url: str
    sender: str

    def handlers(self) -> dict[str, Handler]:
        """The handler of each account email's job kind."""
        return {
            accounts.WELCOME: self.welcome,
            accounts.VERIFY_EMAIL: self.verify,
            accounts.EMAIL_CHANGED: self.email_changed,
            accounts.PASSWORD_CHANGED: self.password_changed,
            accounts.PASSWORD_RESET: self.password_reset,
            accounts.PASSWORD_RESET_DONE: self.password_reset_done,
        }

    def _send(self, kind: str, to: str, context: Mapping[str, str]) -> dict[str, Any]:
        self.mailer.send(compose(kind, to, context, self.sender))
        return {"sent": True}

    def _user(self, user_id: int) -> User | None:
        with self.units() as work:
            return work[ACCOUNTS].get_user(user_id)

    def _link(self, page: str, token: str) -> str:
        return f"{self.public_url}{page}#token={token}"

    def _verification(self, job: Job, kind: str) -> dict[str, Any]:
        email = str(job.payload["email"])
        with self.units(write=True) as work:
            repo = work[ACCOUNTS]
            user = repo.get_user(int(job.payload["user_id"]))
            if user is None or user.email is None or name_key(user.email) != name_key(email):
                return {"sent": False, "reason": "the address is no longer the account's"}
            token = accounts.issue_emailed_token(repo, user.id, accounts.VERIFY, email, utcnow())
        context = {"username": user.username, "verify_url": self._link(VERIFY_PAGE, token)}
        return self._send(kind, email, context)

    def welcome(self, job: Job) -> dict[str, Any]:
        """The registration email, with the link that verifies the address."""
        return self._verification(job, "welcome")

    def verify(self, job: Job) -> dict[str, Any]:
        """A changed address's verification link."""
        return self._verification(job, "verify_email")

    def email_changed(self, job: Job) -> dict[str, Any]:
        """A notice to the old address that the account's address changed."""
        user = self._user(int(job.payload["user_id"]))
        if user is None:
            return {"sent": False, "reason": "the account is gone"}
        new = job.payload.get("new_email") or "(none)"
        context = {"username": user.username, "new_email": str(new)}
        return self._send("email_changed", str(job.payload["old_email"]), context)

    def password_changed(self, job: Job) -> dict[str, Any]:
        """A notice that the password was changed, with the way back if it was not the owner."""
        user = self._user(int(job.payload["user_id"]))
        if user is None or user.email is None:
            return {"sent": False, "reason": "the account has no address"}
        context = {"username": user.username, "reset_page_url": self.public_url + FORGOT_PAGE}
        return self._send("password_changed", user.email, context)

    def password_reset(self, job: Job) -> dict[str, Any]:
        """The reset link, to the account with this verified address (if any)."""
        email = str(job.payload["email"])
        with self.units(write=True) as work:
            repo = work[ACCOUNTS]
            user = repo.user_by_verified_email(email)
            if user is None or user.email is None:
                return {"sent": False}
            token = accounts.issue_emailed_token(repo, user.id, accounts.RESET, None, utcnow())
        context = {"username": user.username, "reset_url": self._link(RESET_PAGE, token)}
        return self._send("password_reset", user.email, context)

    def password_reset_done(self, job: Job) -> dict[str, Any]:
        """The confirmation that the password was reset and every session ended."""
        user = self._user(int(job.payload["user_id"]))
        if user is None or user.email is None:
            return {"sent": False, "reason": "the account has no address"}
        return self._send("password_reset_done", user.email, {"username": user.username})
