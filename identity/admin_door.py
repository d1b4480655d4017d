"""The Django admin site's way in: the same sign-in service as the API (door "admin_site").

Three pages, each a step of one sign-in: the password (`login`), the second factor (`verify`: a
code, or a passkey), and, for staff who have none yet where one is required, enrolling a TOTP
authenticator or a passkey (`enrol`; the passkey pieces are identity/admin_passkeys.py).
Until the last step succeeds nobody is signed in: the pending step lives in the Django session
under PENDING. Once it succeeds, Django's session is bound to its AuthSession (BOUND_SESSION) and
verified by the device that passed (django-otp's `login`), so OTPAdminSite's `is_verified()`
holds; identity.middleware signs the browser out the moment that AuthSession ends (a lock, a
deactivation, a password change, a revocation).
"""

from __future__ import annotations

from django import forms
from django.contrib import auth
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login

from identity import admin_passkeys
from identity.api.throttles import AUTH_THROTTLES
from identity.errors import IdentityError
from identity.models import AuthSession, MFAChallenge, User
from identity.network import client_ip, user_agent
from identity.services import login, mfa_devices, passkey_enrolment, sessions
from identity_project.eventbus.context import Actor, event_context

PENDING = "identity_admin_pending"
BOUND_SESSION = "identity_auth_session"
SESSION_BACKEND = "identity.backends.SessionUserBackend"


class PasswordForm(forms.Form):
    # "username", as Django's admin login template names it.
    username = forms.CharField(label="E-mail", max_length=254)
    password = forms.CharField(label="Password", max_length=256, strip=False, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(label="Code", max_length=32, widget=forms.TextInput(attrs={"autocomplete": "off"}))


def _next(request: HttpRequest, site) -> str:
    wanted = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()}):
        return wanted
    return reverse("admin:index", current_app=site.name)


def _page(request, site, template: str, form, status: int = 200, **context) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {
            **site.each_context(request),
            "title": "Log in",
            "form": form,
            "app_path": request.get_full_path(),
            REDIRECT_FIELD_NAME: _next(request, site),
            **context,
        },
        status=status,
    )


def _throttle_wait(request) -> float | None:
    """The API's sign-in throttles (per address, per e-mail tried), on the admin's form."""
    for throttle in (cls() for cls in AUTH_THROTTLES):
        if not throttle.allow_request(request, None):
            return throttle.wait() or 1
    return None


def _signed_in(request, site, session: AuthSession, device=None) -> HttpResponse:
    """The whole sign-in succeeded: Django's session opens, bound to the AuthSession."""
    request.session.pop(PENDING, None)
    auth.login(request, session.user, backend=SESSION_BACKEND)
    if device is not None:
        otp_login(request, device)
    request.session[BOUND_SESSION] = str(session.pk)
    return HttpResponseRedirect(_next(request, site))


def login_view(site, request: HttpRequest) -> HttpResponse:
    form = PasswordForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return _page(request, site, "admin/login.html", form)
    wait = _throttle_wait(request)
    if wait is not None:
        form.add_error(None, f"Too many sign-in attempts. Try again in {int(wait) + 1} seconds.")
        response = _page(request, site, "admin/login.html", form, status=429)
        response["Retry-After"] = str(int(wait) + 1)
        return response
    try:
        signed_in = login.login(
            email=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            ip_address=client_ip(request),
            user_agent=user_agent(request),
            door="admin_site",
        )
    except IdentityError as exc:
        form.add_error(None, exc.detail)
        return _page(request, site, "admin/login.html", form, status=exc.status_code)
    if signed_in.challenge is not None:
        request.session[PENDING] = {"challenge": str(signed_in.challenge.pk)}
        return _step(request, site, "admin:identity_login_verify")
    if signed_in.enrolment_required:
        request.session[PENDING] = {"session": str(signed_in.session.pk)}
        return _step(request, site, "admin:identity_login_enrol")
    return _signed_in(request, site, signed_in.session)


def _step(request, site, name: str) -> HttpResponse:
    url = reverse(name, current_app=site.name)
    return HttpResponseRedirect(f"{url}?{REDIRECT_FIELD_NAME}={_next(request, site)}")


def _restart(request, site, message: str) -> HttpResponse:
    request.session.pop(PENDING, None)
    form = PasswordForm()
    form.add_error(None, message)
    return _page(request, site, "admin/login.html", form, status=410)


def verify_view(site, request: HttpRequest) -> HttpResponse:
    challenge_id = request.session.get(PENDING, {}).get("challenge")
    challenge = MFAChallenge.objects.filter(pk=challenge_id).first() if challenge_id else None
    if challenge is None:
        return HttpResponseRedirect(reverse("admin:login", current_app=site.name))
    passkey = admin_passkeys.answered(request)
    form = passkey or CodeForm(request.POST if request.method == "POST" else None)
    context = {
        "method": challenge.method,
        "title": "Second factor",
        **admin_passkeys.request_context(challenge),
    }
    if request.method != "POST" or not form.is_valid():
        return _shown(request, site, "admin/identity/login_verify.html", form, context)
    proof = (
        {"credential": form.cleaned_data["credential"]} if passkey else {"code": form.cleaned_data["code"]}
    )
    try:
        signed_in = login.mfa_verify(challenge_id=challenge.pk, door="admin_site", **proof)
    except IdentityError as exc:
        if exc.status_code in (410, 423):
            return _restart(request, site, exc.detail)
        return _refused(request, site, "admin/identity/login_verify.html", form, exc, context)
    device = mfa_devices.device_by_key(signed_in.session.user, signed_in.challenge.device_id)
    return _signed_in(request, site, signed_in.session, device)


def _shown(request, site, template: str, form, context: dict) -> TemplateResponse:
    """The step's page, first or with the form's errors; after a passkey answer that could not
    be read it offers the code field as before, with that error above it."""
    if isinstance(form, admin_passkeys.PasskeyForm):
        error = form.errors["credential"][0]
        return _page(request, site, template, CodeForm(), status=400, passkey_error=error, **context)
    return _page(request, site, template, form, **context)


def _refused(request, site, template: str, form, exc: IdentityError, context: dict) -> TemplateResponse:
    """The step's page again with the refusal (400); after a refused passkey it offers the code
    field as before, with the passkey's refusal above it."""
    if isinstance(form, admin_passkeys.PasskeyForm):
        return _page(request, site, template, CodeForm(), status=400, passkey_error=exc.detail, **context)
    form.add_error("code", exc.detail)
    return _page(request, site, template, form, status=400, **context)


def enrol_view(site, request: HttpRequest) -> HttpResponse:
    """Staff without a second factor enrol a TOTP authenticator (its first good code) or a passkey
    (its registration); that opens the sign-in. The enrolment's devices are kept in the pending
    step, so a reload shows the same ones."""
    pending = request.session.get(PENDING, {})
    session = AuthSession.objects.select_related("user").filter(pk=pending.get("session")).first()
    if session is None or session.status != AuthSession.Status.PENDING_MFA:
        return HttpResponseRedirect(reverse("admin:login", current_app=site.name))
    user: User = session.user
    with event_context(actor=Actor("user", str(user.pk))):
        if "device" not in pending:
            pending["device"] = mfa_devices.mfa_device_create(user=user, method="totp").device_id
            pending["passkey"] = passkey_enrolment.passkey_enrol_begin(user=user).device_id
            request.session[PENDING] = pending
        device = mfa_devices.device_by_key(user, pending["device"])
        passkey = admin_passkeys.answered(request)
        form = passkey or CodeForm(request.POST if request.method == "POST" else None)
        context = {
            "title": "Set up a second factor",
            "otpauth_uri": device.config_url,
            **admin_passkeys.creation_context(user, pending),
        }
        if request.method != "POST" or not form.is_valid():
            return _shown(request, site, "admin/identity/login_enrol.html", form, context)
        enrolled = pending["passkey"] if passkey else pending["device"]
        try:
            if passkey:
                passkey_enrolment.passkey_enrol_complete(
                    user=user, device_id=enrolled, credential=form.cleaned_data["credential"]
                )
            else:
                mfa_devices.mfa_device_verify(user=user, device_id=enrolled, code=form.cleaned_data["code"])
            session = login.complete_after_enrolment(session=session)
        except IdentityError as exc:
            if exc.status_code == 410 and not passkey:
                return _restart(request, site, exc.detail)
            return _refused(request, site, "admin/identity/login_enrol.html", form, exc, context)
    return _signed_in(request, site, session, mfa_devices.device_by_key(user, enrolled))


def end_bound_session(request: HttpRequest) -> None:
    """Signing out of the admin ends its AuthSession too."""
    session = AuthSession.objects.filter(pk=request.session.get(BOUND_SESSION)).first()
    if session is not None:
        sessions.session_logout(session=session)
