"""Factories for the data tests build again and again: users (with a known password), roles
and permissions. Built straight in the database, as the tests built them by hand; a test that
means to publish a registration goes through `identity.services.accounts.user_register`."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from identity.models import Permission, Role, User
from tests.identity.support import PASSWORD


class UserFactory(DjangoModelFactory):
    """A user through `User.objects.create_user`, so the e-mail is normalised and the password
    hashed as for any account. `UserFactory(staff=True)` for the admin, `superuser=True` for
    everything; `password=None` for an account that cannot sign in."""

    class Meta:
        model = User

    class Params:
        staff = factory.Trait(is_staff=True)
        superuser = factory.Trait(is_staff=True, is_superuser=True)

    email = factory.Sequence(lambda n: f"user-{n}@example.com")
    password = PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs) -> User:
        return cls._get_manager(model_class).create_user(*args, **kwargs)


class PermissionFactory(DjangoModelFactory):
    class Meta:
        model = Permission

    codename = factory.Sequence(lambda n: f"tests.permission_{n}")
    name = factory.LazyAttribute(lambda permission: permission.codename)


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = Role

    name = factory.Sequence(lambda n: f"role {n}")
