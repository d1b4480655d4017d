"""Fixtures of identity's tests."""

import pytest

from identity.services.accounts import user_register
from tests.identity.support import PASSWORD


@pytest.fixture
def alice(db):
    return user_register(email="alice@example.com", password=PASSWORD)


@pytest.fixture
def admin_user(db):
    from identity.models import User

    return User.objects.create_superuser("root@example.com", PASSWORD)


@pytest.fixture
def relying_party(settings):
    """The passkey tests' relying party (tests/identity/passkey_support.py)."""
    from tests.identity.passkey_support import ORIGIN, RP_ID

    settings.WEBAUTHN_RP_ID, settings.WEBAUTHN_ORIGINS = RP_ID, [ORIGIN]


@pytest.fixture
def authenticator():
    from tests.identity.passkey_support import ORIGIN
    from tests.support.soft_authenticator import SoftAuthenticator

    return SoftAuthenticator(origin=ORIGIN)
