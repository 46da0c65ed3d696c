"""Every email (account notices, a webhook turned off): a subject and a text and HTML
template pair each, composed into messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from types import MappingProxyType

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

PRODUCT = "Storekeeper"


@dataclass(frozen=True)
class Kind:
    """One email: its subject and the context fields its templates need."""

    subject: str
    fields: tuple[str, ...]


KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        "welcome": Kind(
            f"Welcome to {PRODUCT} — verify your email address", ("username", "verify_url")
        ),
        "verify_email": Kind(
            f"{PRODUCT}: verify your new email address", ("username", "verify_url")
        ),
        "email_changed": Kind(
            f"{PRODUCT}: your account's email address was changed", ("username", "new_email")
        ),
        "password_changed": Kind(
            f"{PRODUCT}: your password was changed", ("username", "reset_page_url")
        ),
        "password_reset": Kind(f"{PRODUCT}: reset your password", ("username", "reset_url")),
        "password_reset_done": Kind(f"{PRODUCT}: your password was reset", ("username",)),
        "webhook_disabled": Kind(
            f"{PRODUCT}: a webhook of your store was turned off",
            ("username", "store_name", "webhook_url", "webhook_id", "reason"),
        ),
    }
)

# HTML templates escape every value (a username is user input); text ones must not, or a link's
# "&" would arrive as "&amp;". A missing value is an error, never an empty string.
_templates = Environment(
    loader=PackageLoader("storekeeper.mail", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(kind: str, context: Mapping[str, str]) -> tuple[str, str]:
    """The text and HTML bodies of one kind of email."""
    spec = _kind(kind)
    missing = [name for name in spec.fields if name not in context]
    if missing:
        raise ValueError(f"the {kind!r} email needs {', '.join(missing)} in its context")
    values = {name: context[name] for name in spec.fields}
    values["product"] = PRODUCT
    text = _templates.get_template(f"{kind}.txt").render(values)
    html = _templates.get_template(f"{kind}.html").render(values)
    return text, html


def compose(
    kind: str,
    to: str,
    context: Mapping[str, str],
    sender: str,
    *,
    message_id_domain: str | None = None,
) -> EmailMessage:
    """One email, ready to send: text and HTML alternatives, Message-ID, Date, From and To.

    `message_id_domain` defaults to the sender's domain (socket.getfqdn(), make_msgid's own
    default, can wait on DNS).
    """
    spec = _kind(kind)
    text, html = render(kind, context)
    message = EmailMessage()
    message["Subject"] = spec.subject
    message["From"] = sender
    message["To"] = to
    _one_address("To", message)
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=message_id_domain or _one_address("From", message))
    # RFC 3834: a robot's message; out-of-office replies and the like should not answer it.
    message["Auto-Submitted"] = "auto-generated"
    # 8bit keeps each link whole and readable in the raw message (a .eml opened in an editor);
    # quoted-printable would write "token=3D..." and break long lines. SmtpMailer re-encodes
    # for a server without 8BITMIME.
    message.set_content(text, cte="8bit")
    message.add_alternative(html, subtype="html", cte="8bit")
    return message


def _kind(kind: str) -> Kind:
    """The registered kind, or ValueError naming the known ones."""
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown email {kind!r}; known: {', '.join(sorted(KINDS))}") from None


def _one_address(header: str, message: EmailMessage) -> str:
    """The domain of the one address a header holds; ValueError when it holds anything else."""
    addresses: tuple[Address, ...] = message[header].addresses
    if len(addresses) != 1 or not addresses[0].username or not addresses[0].domain:
        raise ValueError(f"{header} must be one address like name@example.com")
    return addresses[0].domain
