"""Signing in to the Django admin as a person does: the password, then a TOTP code."""

from __future__ import annotations

import time

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.models import User


def next_code(device: TOTPDevice) -> str:
    """A code the device has not accepted yet (TOTP takes each time step once)."""
    device.refresh_from_db()
    now_step = int((time.time() - device.t0) // device.step)
    offset = max(0, device.last_t + 1 - now_step)
    assert offset <= device.tolerance, "this device's codes for the next steps are spent"
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():0{device.digits}d}"


def authenticator(user: User) -> TOTPDevice:
    """The user's confirmed TOTP device, made if there is none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)


def admin_sign_in(client: Client, user: User, password: str) -> Client:
    """Through /admin/login/ and its second step, with the user's authenticator."""
    device = authenticator(user)
    password_step = client.post("/admin/login/", {"username": user.email, "password": password})
    assert password_step.status_code == 302, password_step.content[:500]
    code_step = client.post(password_step["Location"], {"code": next_code(device)})
    assert code_step.status_code == 302, code_step.content[:500]
    assert code_step["Location"] == "/admin/"
    return client
