"""A staff member in a real browser: enrols a passkey at the admin's door, signs out, and signs in
to the admin with it. Chromium's DevTools virtual authenticator (WebAuthn.enable,
WebAuthn.addVirtualAuthenticator over a CDP session) holds the passkey, with real keys and
signatures, and answers the page's navigator.credentials calls.

WebAuthn needs a secure context: the live server is http://localhost (one), and the test makes
it the relying party (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS).
"""

from __future__ import annotations

import pytest

from identity.models import AuthSession, WebAuthnDevice
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EMAIL, PASSWORD = "staff@example.com", "a-staff-password"


@pytest.fixture
def relying_party(live_server, settings):
    origin = live_server.url.replace("127.0.0.1", "localhost")
    settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGINS = "localhost", [origin]
    return origin


def virtual_authenticator(page, devtools: dict) -> str:
    """A platform authenticator that keeps passkeys and verifies its user (a fingerprint, say)."""
    cdp = devtools["session"] = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return added["authenticatorId"]


def test_a_staff_member_enrols_a_passkey_and_signs_in_to_the_admin_with_it(relying_party, browser):
    # given a staff member with no second factor, and a browser with a platform authenticator
    staff = UserFactory(email=EMAIL, password=PASSWORD, staff=True)
    admin = f"{relying_party}/admin/"
    devtools: dict = {}
    authenticator_id = browser(lambda page: virtual_authenticator(page, devtools))

    def password(page) -> None:
        page.goto(admin)
        page.fill("#id_username", EMAIL)
        page.fill("#id_password", PASSWORD)
        page.click("#login-form input[type=submit]")

    # when they sign in, are asked for a second factor and create a passkey
    def enrol(page) -> str:
        password(page)
        page.wait_for_selector("#otpauth-uri")
        page.click("#use-passkey")
        page.wait_for_url(admin)
        return page.inner_text("#content")

    index = browser(enrol)
    credentials = browser(
        lambda page: devtools["session"].send(
            "WebAuthn.getCredentials", {"authenticatorId": authenticator_id}
        )
    )

    # then the admin opens, and the passkey is theirs, discoverable
    assert "Site administration" in index
    passkey = WebAuthnDevice.objects.get(user=staff)
    assert (passkey.confirmed, passkey.discoverable) == (True, True)
    assert [c["isResidentCredential"] for c in credentials["credentials"]] == [True]

    # when they sign out and in again, with the passkey as the second factor
    def sign_in_again(page) -> str:
        page.click("#logout-form button[type=submit]")
        password(page)
        page.wait_for_selector("#second-factor")
        explanation = page.inner_text("#second-factor")
        page.click("#use-passkey")
        page.wait_for_url(admin)
        return explanation

    explanation = browser(sign_in_again)
    browser.screenshot("admin-passkey-signed-in")

    # then the passkey was asked for and its counter moved; the sign-in is a session of the admin
    assert "Use your passkey" in explanation
    passkey.refresh_from_db()
    assert passkey.last_used_at is not None
    opened = AuthSession.objects.filter(user=staff, status=AuthSession.Status.ACTIVE, mfa_used=True)
    assert opened.count() == 1
