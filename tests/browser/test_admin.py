"""An administrator in a real browser: signs in to the Django admin, edits a role and finds the
RoleUpdated event in the audit list, then replays a dead letter from the Event pipeline page.

A live server, a real worker on the audit queue and a relay carry the events; screenshots of
the pipeline page are kept in var/test-artifacts/.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import transaction

from audit.models import AuditEntry
from identity import events
from identity.models import User
from identity.services import roles
from identity_project.eventbus import deadletters
from identity_project.eventbus.models import DeadLetter
from identity_project.eventbus.publisher import publish
from tests.conftest import wait_for
from tests.support.admin_site import authenticator, next_code

pytestmark = [pytest.mark.slow, pytest.mark.services]

EMAIL, PASSWORD = "admin@example.com", "an-admin-password"


def an_event_never_delivered() -> dict:
    """An envelope whose transaction rolled back: no consumer has it, so its replay is what
    brings it to audit."""
    with transaction.atomic():
        envelope = publish(events.UserUpdated(user_id=uuid.uuid4(), changed_fields=["full_name"]))
        transaction.set_rollback(True)
    return envelope


def test_an_administrator_edits_a_role_sees_it_audited_and_replays_a_dead_letter(
    live_server, worker, relay, browser
):
    # given an administrator with an authenticator, a role and an event dead-lettered by audit
    device = authenticator(User.objects.create_superuser(EMAIL, PASSWORD))
    role = roles.role_create(
        name="support", description="First line", parent=None, is_default=False, is_privileged=False
    )
    lost = an_event_never_delivered()
    letter = deadletters.store(
        consumer="audit",
        envelope=lost,
        reason="permanent",
        error="a bug since fixed",
        traceback="",
        attempts=1,
    )
    admin = f"{live_server.url}/admin/"

    # when the administrator signs in with the password and a TOTP code, and changes the role's
    # description
    def sign_in(page) -> str:
        page.goto(admin)
        page.fill("#id_username", EMAIL)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#second-factor")
        page.fill("#id_code", code)
        page.click("input[type=submit]")
        page.wait_for_url(admin)
        return page.inner_text("#content")

    def edit_role(page) -> str:
        page.goto(f"{admin}identity/role/{role.pk}/change/")
        page.fill("#id_description", "First and second line")
        page.click("input[name=_save]")
        return page.inner_text("ul.messagelist")

    code = next_code(device)
    index = browser(sign_in)
    saved = browser(edit_role)

    # then the index links the pipeline page, and RoleUpdated reaches the audit list
    assert "Event pipeline" in index
    assert "was changed successfully" in saved

    def audit_list_rows(page) -> list[str]:
        page.goto(f"{admin}audit/auditentry/?type=identity.role.updated")
        return page.locator("#result_list tbody tr").all_inner_texts()

    rows = wait_for(
        lambda: [row for row in browser(audit_list_rows) if str(role.pk) in row],
        timeout=60,
        interval=1,
        what="RoleUpdated in the admin's audit list",
    )
    assert "identity.role.updated" in rows[0]

    # when the administrator opens the pipeline page from the index and replays the dead letter
    def open_pipeline(page) -> str:
        page.goto(admin)
        page.click("text=Event pipeline")
        page.wait_for_selector("svg.pipeline-chart")
        return page.inner_text(f"#dead-letter-{letter.pk}")

    row = browser(open_pipeline)
    browser.screenshot("pipeline")

    def replay(page) -> str:
        page.click(f"#dead-letter-{letter.pk} input[value=Replay]")
        page.wait_for_selector("ul.messagelist")
        return page.inner_text("ul.messagelist")

    message = browser(replay)
    browser.screenshot("pipeline-after-replay")

    # then the page says so, and the worker applies the event the letter held
    assert "identity.user.updated" in row
    assert "a bug since fixed" in row
    assert re.search(rf"Dead letter {letter.pk} \(identity.user.updated for audit\) replayed", message)
    wait_for(
        lambda: AuditEntry.objects.filter(event_id=lost["event_id"]).exists(),
        timeout=60,
        what="the replayed event in audit",
    )
    letter.refresh_from_db()
    assert (letter.status, letter.replay_count) == (DeadLetter.Status.REPLAYED, 1)
    assert browser(lambda page: page.locator(f"#dead-letter-{letter.pk}").count()) == 0
