"""integration API routes, mounted under /api/v1/ (paths as in ../shared/API.md)."""

urlpatterns: list = []
