"""Administration of users and sessions (admin/users, admin/sessions): needs identity.manage_users."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.api.serializers import SessionOutputSerializer, UserOutputSerializer
from identity.errors import NotFound
from identity.models import User
from identity.selectors import sessions_of, users_list
from identity.services import accounts, lockout, passwords, sessions
from identity_project.permissions import has_permission
from identity_project.serializers import StrictSerializer

ManageUsers = has_permission("identity.manage_users")


def _user(user_id) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("No such user.")
    return user


class AdminUserListApi(ListAPIView):
    """Users by e-mail (?search=); POST creates one (method admin)."""

    permission_classes = [ManageUsers]
    serializer_class = UserOutputSerializer

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        full_name = serializers.CharField(max_length=150, required=False, default="")

    def get_queryset(self):
        return users_list(search=self.request.query_params.get("search", ""))

    @extend_schema(request=InputSerializer, responses={201: UserOutputSerializer})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = accounts.user_register(method="admin", **data.validated_data)
        return Response(UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class AdminUserDetailApi(APIView):
    permission_classes = [ManageUsers]

    class InputSerializer(StrictSerializer):
        email = serializers.EmailField(max_length=254)
        full_name = serializers.CharField(max_length=150, allow_blank=True)
        is_staff = serializers.BooleanField()

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request, user_id):
        return Response(UserOutputSerializer(_user(user_id)).data)

    @extend_schema(request=InputSerializer, responses=UserOutputSerializer)
    def patch(self, request, user_id):
        data = self.InputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = accounts.user_update(
            user=_user(user_id), fields=data.validated_data, allowed=accounts.ADMIN_FIELDS, by=request.user
        )
        return Response(UserOutputSerializer(user).data)


class _AdminUserActionApi(APIView):
    permission_classes = [ManageUsers]

    class InputSerializer(StrictSerializer):
        reason = serializers.CharField(max_length=200, required=False, default="admin")

    def act(self, user: User, reason: str) -> None:
        raise NotImplementedError

    @extend_schema(request=InputSerializer, responses=UserOutputSerializer)
    def post(self, request, user_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user(user_id)
        self.act(user, data.validated_data["reason"])
        user.refresh_from_db()
        return Response(UserOutputSerializer(user).data)


class AdminUserLockApi(_AdminUserActionApi):
    """Lock until an admin unlocks; the user's sessions end."""

    def act(self, user, reason):
        lockout.user_lock(user=user, reason="admin")


class AdminUserUnlockApi(_AdminUserActionApi):
    def act(self, user, reason):
        lockout.user_unlock(user=user, reason="admin")


class AdminUserDeactivateApi(_AdminUserActionApi):
    def act(self, user, reason):
        accounts.user_deactivate(user=user, reason=reason)


class AdminUserReactivateApi(_AdminUserActionApi):
    def act(self, user, reason):
        accounts.user_reactivate(user=user)


class AdminUserPasswordApi(APIView):
    """Set a user's password (beyond API.md: the admin set-password of the issue); sessions end."""

    permission_classes = [ManageUsers]

    class InputSerializer(StrictSerializer):
        new_password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(request=InputSerializer, responses={204: None})
    def post(self, request, user_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user(user_id)
        accounts.privileged_account_guard(user=user, by=request.user)
        passwords.password_set_by_admin(user=user, new=data.validated_data["new_password"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdminSessionListApi(ListAPIView):
    """Everyone's sessions, newest first (?user_id=, ?status=)."""

    permission_classes = [ManageUsers]
    serializer_class = SessionOutputSerializer

    def get_queryset(self):
        found = sessions_of()
        if user_id := self.request.query_params.get("user_id"):
            found = found.filter(user_id=user_id)
        if state := self.request.query_params.get("status"):
            found = found.filter(status=state)
        return found


class AdminSessionEndApi(APIView):
    permission_classes = [ManageUsers]

    @extend_schema(responses={204: None})
    def delete(self, request, session_id):
        sessions.session_revoke(session_id=session_id, by_admin=True)
        return Response(status=status.HTTP_204_NO_CONTENT)
