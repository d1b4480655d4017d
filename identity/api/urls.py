"""Identity's API routes, mounted under /api/v1/ (paths as in ../shared/API.md)."""

from django.urls import path

from identity.api import admin_users, auth, authorization, me

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
    path("me", me.MeApi.as_view(), name="me"),
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
    path("admin/users/<uuid:user_id>/roles", authorization.UserRolesApi.as_view(), name="admin-user-roles"),
    path(
        "admin/users/<uuid:user_id>/roles/<uuid:role_id>",
        authorization.UserRoleDeleteApi.as_view(),
        name="admin-user-role",
    ),
    path(
        "admin/users/<uuid:user_id>/permissions",
        authorization.UserPermissionsApi.as_view(),
        name="admin-user-permissions",
    ),
    path(
        "admin/users/<uuid:user_id>/permissions/<uuid:permission_id>",
        authorization.UserPermissionDeleteApi.as_view(),
        name="admin-user-permission",
    ),
    path("admin/roles", authorization.RoleListApi.as_view(), name="admin-roles"),
    path("admin/roles/<uuid:role_id>", authorization.RoleDetailApi.as_view(), name="admin-role"),
    path("admin/roles/<uuid:role_id>/clone", authorization.RoleCloneApi.as_view(), name="admin-role-clone"),
    path(
        "admin/roles/<uuid:role_id>/permissions",
        authorization.RolePermissionsApi.as_view(),
        name="admin-role-permissions",
    ),
    path(
        "admin/roles/<uuid:role_id>/permissions/<uuid:permission_id>",
        authorization.RolePermissionDeleteApi.as_view(),
        name="admin-role-permission",
    ),
    path("admin/permissions", authorization.PermissionListApi.as_view(), name="admin-permissions"),
    path(
        "admin/permissions/<uuid:permission_id>",
        authorization.PermissionDetailApi.as_view(),
        name="admin-permission",
    ),
    path("admin/elevation-requests", authorization.ElevationListApi.as_view(), name="admin-elevations"),
    path(
        "admin/elevation-requests/<uuid:request_id>/approve",
        authorization.ElevationApproveApi.as_view(),
        name="admin-elevation-approve",
    ),
    path(
        "admin/elevation-requests/<uuid:request_id>/deny",
        authorization.ElevationDenyApi.as_view(),
        name="admin-elevation-deny",
    ),
    path(
        "me/elevation-requests", authorization.MyElevationRequestApi.as_view(), name="me-elevation-requests"
    ),
    path("admin/sessions", admin_users.AdminSessionListApi.as_view(), name="admin-sessions"),
    path("admin/sessions/<uuid:session_id>", admin_users.AdminSessionEndApi.as_view(), name="admin-session"),
]
