"""Identity's errors: each maps to a status and a machine code of the API's error shape."""

from identity_project.api_errors import ApiError


class IdentityError(ApiError):
    """Base of identity's errors (an ApiError, so the API maps it in one place)."""


class InvalidCredentials(IdentityError):
    def __init__(self, message: str = "The e-mail or password is wrong.") -> None:
        super().__init__(message, code="invalid_credentials", status_code=401)


class InvalidCode(IdentityError):
    """A wrong second-factor code where no challenge counts attempts (a re-authentication)."""

    def __init__(self) -> None:
        super().__init__("The code is wrong.", code="invalid_code", status_code=401)


class ReauthenticationRequired(IdentityError):
    def __init__(self) -> None:
        super().__init__(
            "This change needs a recent sign-in: re-authenticate (auth/reauthenticate) and try again.",
            code="reauthentication_required",
            status_code=403,
        )


class AccountLocked(IdentityError):
    def __init__(self) -> None:
        super().__init__("The account is locked. Try again later.", code="account_locked", status_code=423)


class AddressRefused(IdentityError):
    def __init__(self) -> None:
        super().__init__("Sign-in from this address is not allowed.", code="ip_blocked", status_code=403)


class TokenInvalid(IdentityError):
    def __init__(
        self, message: str = "The token is invalid or expired.", code: str = "token_invalid"
    ) -> None:
        super().__init__(message, code=code, status_code=401)


class TokenReused(IdentityError):
    def __init__(self) -> None:
        super().__init__(
            "This refresh token was already used: the session has been ended.",
            code="token_reused",
            status_code=401,
        )


class Conflict(IdentityError):
    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message, code=code, status_code=409)


class NotFound(IdentityError):
    def __init__(self, message: str = "Not found.") -> None:
        super().__init__(message, code="not_found", status_code=404)


class PasswordRejected(IdentityError):
    def __init__(self, messages: list[str], field: str = "password") -> None:
        super().__init__("The password is not acceptable.", code="validation_error", status_code=400,
                         fields={field: messages})  # fmt: skip
