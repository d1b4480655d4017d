"""GET audit/events: the audit log, filtered, newest first, with cursor pagination."""

from rest_framework import pagination
from rest_framework.generics import ListAPIView

from audit.api.serializers import EntryFilterSerializer, EntryOutputSerializer
from audit.selectors import entries_search
from identity_project.permissions import has_permission


class EntryCursorPagination(pagination.CursorPagination):
    """A cursor, not a page number: stable while entries arrive, and no count(*) over millions."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class AuditEventListApi(ListAPIView):
    """Entries matching the filters (type, user_id, aggregate_id, correlation_id, since, until,
    severity), newest first."""

    permission_classes = [has_permission("audit.view_auditlog")]
    serializer_class = EntryOutputSerializer
    pagination_class = EntryCursorPagination

    def get_queryset(self):
        filters = EntryFilterSerializer(
            data=self.request.query_params.dict(), context={"allowed": ("cursor", "page_size")}
        )
        filters.is_valid(raise_exception=True)
        return entries_search(**filters.validated_data)
