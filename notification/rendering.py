"""A notification's message from its template: subject, plain text and HTML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template import Context, Engine
from django.template.loader import render_to_string


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str


# Plain-text templates must not HTML-escape what they show; the HTML layout escapes it.
_TEXT_TEMPLATES = Engine(app_dirs=True, autoescape=False)


def render(template: str, context: dict[str, Any]) -> Message:
    """notification/messages/<template>.txt: first line the subject, the rest the body; the
    e-mail layouts (text and HTML) wrap the body."""
    rendered = _TEXT_TEMPLATES.get_template(f"notification/messages/{template}.txt").render(Context(context))
    subject, _, body = rendered.partition("\n")
    layout = {**context, "subject": subject.strip(), "body": body.strip()}
    return Message(
        subject=subject.strip()[:255],
        text=_TEXT_TEMPLATES.get_template("notification/email/layout.txt").render(Context(layout)),
        html=render_to_string("notification/email/layout.html", layout),
    )
