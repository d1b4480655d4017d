"""Identity's API routes, mounted under /api/v1/ (paths as in ../shared/API.md)."""

from django.urls import path

from identity.api import (
    admin_users,
    auth,
    devices,
    elevation_requests,
    ip_rules,
    me,
    mfa,
    passkeys,
    permissions,
    reauthentication,
    roles,
    user_permissions,
    user_roles,
)

urlpatterns = [
    path("auth/register", auth.RegisterApi.as_view(), name="auth-register"),
    path("auth/login", auth.LoginApi.as_view(), name="auth-login"),
    path("auth/token/refresh", auth.TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/logout", auth.LogoutApi.as_view(), name="auth-logout"),
    path("auth/password/reset", auth.PasswordResetApi.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm",
        auth.PasswordResetConfirmApi.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/mfa/select", auth.MfaSelectApi.as_view(), name="auth-mfa-select"),
    path("auth/mfa/verify", auth.MfaVerifyApi.as_view(), name="auth-mfa-verify"),
    path("auth/passkey/options", passkeys.PasskeyOptionsApi.as_view(), name="auth-passkey-options"),
    path("auth/passkey/login", passkeys.PasskeyLoginApi.as_view(), name="auth-passkey-login"),
    path("auth/reauthenticate", reauthentication.ReauthenticateApi.as_view(), name="auth-reauthenticate"),
    path("me", me.MeApi.as_view(), name="me"),
    path("me/mfa/devices", mfa.MfaDeviceListApi.as_view(), name="me-mfa-devices"),
    path("me/mfa/devices/<str:device_id>", mfa.MfaDeviceDeleteApi.as_view(), name="me-mfa-device"),
    path(
        "me/mfa/devices/<str:device_id>/verify",
        mfa.MfaDeviceVerifyApi.as_view(),
        name="me-mfa-device-verify",
    ),
    path("me/mfa/backup-codes", mfa.BackupCodesApi.as_view(), name="me-mfa-backup-codes"),
    path("me/devices", devices.MyDeviceListApi.as_view(), name="me-devices"),
    path("me/devices/<uuid:device_id>", devices.MyDeviceApi.as_view(), name="me-device"),
    path("me/devices/<uuid:device_id>/trust", devices.MyDeviceTrustApi.as_view(), name="me-device-trust"),
    path(
        "me/devices/<uuid:device_id>/untrust", devices.MyDeviceUntrustApi.as_view(), name="me-device-untrust"
    ),
    path("admin/ip-rules", ip_rules.IpRuleListApi.as_view(), name="admin-ip-rules"),
    path("admin/ip-rules/<uuid:rule_id>", ip_rules.IpRuleDeleteApi.as_view(), name="admin-ip-rule"),
    path("me/password", me.MyPasswordApi.as_view(), name="me-password"),
    path("me/sessions", me.MySessionListApi.as_view(), name="me-sessions"),
    path("me/sessions/<uuid:session_id>", me.MySessionEndApi.as_view(), name="me-session"),
    path("admin/users", admin_users.AdminUserListApi.as_view(), name="admin-users"),
    path("admin/users/<uuid:user_id>", admin_users.AdminUserDetailApi.as_view(), name="admin-user"),
    path("admin/users/<uuid:user_id>/lock", admin_users.AdminUserLockApi.as_view(), name="admin-user-lock"),
    path(
        "admin/users/<uuid:user_id>/unlock",
        admin_users.AdminUserUnlockApi.as_view(),
        name="admin-user-unlock",
    ),
    path(
        "admin/users/<uuid:user_id>/deactivate",
        admin_users.AdminUserDeactivateApi.as_view(),
        name="admin-user-deactivate",
    ),
    path(
        "admin/users/<uuid:user_id>/reactivate",
        admin_users.AdminUserReactivateApi.as_view(),
        name="admin-user-reactivate",
    ),
    path(
        "admin/users/<uuid:user_id>/password",
        admin_users.AdminUserPasswordApi.as_view(),
        name="admin-user-password",
    ),
    path("admin/users/<uuid:user_id>/roles", user_roles.UserRolesApi.as_view(), name="admin-user-roles"),
    path(
        "admin/users/<uuid:user_id>/roles/<uuid:role_id>",
        user_roles.UserRoleDeleteApi.as_view(),
        name="admin-user-role",
    ),
    path(
        "admin/users/<uuid:user_id>/permissions",
        user_permissions.UserPermissionsApi.as_view(),
        name="admin-user-permissions",
    ),
    path(
        "admin/users/<uuid:user_id>/permissions/<uuid:permission_id>",
        user_permissions.UserPermissionDeleteApi.as_view(),
        name="admin-user-permission",
    ),
    path("admin/roles", roles.RoleListApi.as_view(), name="admin-roles"),
    path("admin/roles/<uuid:role_id>", roles.RoleDetailApi.as_view(), name="admin-role"),
    path("admin/roles/<uuid:role_id>/clone", roles.RoleCloneApi.as_view(), name="admin-role-clone"),
    path(
        "admin/roles/<uuid:role_id>/permissions",
        roles.RolePermissionsApi.as_view(),
        name="admin-role-permissions",
    ),
    path(
        "admin/roles/<uuid:role_id>/permissions/<uuid:permission_id>",
        roles.RolePermissionDeleteApi.as_view(),
        name="admin-role-permission",
    ),
    path("admin/permissions", permissions.PermissionListApi.as_view(), name="admin-permissions"),
    path(
        "admin/permissions/<uuid:permission_id>",
        permissions.PermissionDetailApi.as_view(),
        name="admin-permission",
    ),
    path("admin/elevation-requests", elevation_requests.ElevationListApi.as_view(), name="admin-elevations"),
    path(
        "admin/elevation-requests/<uuid:request_id>/approve",
        elevation_requests.ElevationApproveApi.as_view(),
        name="admin-elevation-approve",
    ),
    path(
        "admin/elevation-requests/<uuid:request_id>/deny",
        elevation_requests.ElevationDenyApi.as_view(),
        name="admin-elevation-deny",
    ),
    path(
        "me/elevation-requests",
        elevation_requests.MyElevationRequestApi.as_view(),
        name="me-elevation-requests",
    ),
    path("admin/sessions", admin_users.AdminSessionListApi.as_view(), name="admin-sessions"),
    path("admin/sessions/<uuid:session_id>", admin_users.AdminSessionEndApi.as_view(), name="admin-session"),
]
