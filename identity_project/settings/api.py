"""The REST API (Django REST framework, drf-spectacular) and the size of a request's body."""

from identity_project.settings.environment import env

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.authentication.SessionJWTAuthentication",
        "identity.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "auth_ip": env.str("THROTTLE_AUTH_IP", default="60/min"),
        "auth_account": env.str("THROTTLE_AUTH_ACCOUNT", default="20/min"),
        # auth/reauthenticate and me/password, per account and per address (identity/api/throttles.py)
        "reauth": env.str("THROTTLE_REAUTH", default="10/min"),
        # auth/token/refresh per address, apart from the sign-ins' auth_ip (RefreshIpThrottle)
        "token_refresh": env.str("THROTTLE_TOKEN_REFRESH", default="600/min"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "identity_project.schema.AutoSchema",
    "EXCEPTION_HANDLER": "identity_project.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "identity_project.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Identity platform API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # drf-spectacular's own hook, and the 503 every operation may answer (schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "identity_project.schema.database_unavailable",
    ],
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
