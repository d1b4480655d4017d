"""How the OpenAPI schema describes identity's authentication: a bearer JWT, or a verified admin session."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SessionJWTAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.SessionJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token of auth/login; refused at once when its session ends.",
        }


class VerifiedSessionAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "identity.authentication.VerifiedSessionAuthentication"
    name = "adminSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": (
                "The admin site's session, once its second factor verified it and while its "
                "AuthSession lives (for the API docs' pages); never a password alone."
            ),
        }
