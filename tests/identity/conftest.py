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
