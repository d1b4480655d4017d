"""While the database cannot be reached the web answers 503 with Retry-After, never a 500: the
API in its error shape, a browser's page with a short page of its own, /readyz with its checks;
/healthz (liveness) still answers 200, so nothing restarts a web that only waits for its database.

The web (gunicorn, as production runs it) reaches PostgreSQL through a TCP proxy the test cuts:
its connections are dropped and new ones refused, and the shared server keeps running.
"""

from __future__ import annotations

import httpx
import pytest

from identity_project.api_errors import DATABASE_RETRY_AFTER
from tests.factories import UserFactory
from tests.identity.support import PASSWORD
from tests.support.processes import database_url, service_env, start_web

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def web(postgresql_proxy, log_dir):
    """The web on the proxy; its base URL and the process."""
    process, url = start_web(
        log_dir, env=service_env(DATABASE_URL=database_url(host="127.0.0.1", port=postgresql_proxy.port))
    )
    yield url, process
    process.stop()


def _unavailable_in_the_error_shape(answer: httpx.Response) -> bool:
    error = answer.json()["error"]
    return (
        answer.status_code == 503
        and answer.headers.get("retry-after") == str(DATABASE_RETRY_AFTER)
        and error.keys() == {"code", "message", "fields"}
        and (error["code"], error["fields"]) == ("service_unavailable", {})
    )


def test_the_web_answers_503_while_postgresql_is_unreachable_and_recovers_by_itself(web, postgresql_proxy):
    web, process = web
    # given a signed-in user, whose token reads their profile
    user = UserFactory()
    credentials = {"email": user.email, "password": PASSWORD}
    with httpx.Client(base_url=web, timeout=15) as http:
        access = http.post("/api/v1/auth/login", json=credentials).json()["access"]
        bearer = {"Authorization": f"Bearer {access}"}
        assert http.get("/api/v1/me", headers=bearer).status_code == 200

        # when the database cannot be reached
        postgresql_proxy.cut()
        during = {
            "me": http.get("/api/v1/me", headers=bearer),
            "login": http.post("/api/v1/auth/login", json=credentials),
            # a browser with a session cookie: the session is read in a middleware, before any view
            "admin": http.get("/admin/", headers={"Accept": "text/html", "Cookie": "sessionid=" + "x" * 32}),
            "readyz": http.get("/readyz"),
            "healthz": http.get("/healthz"),
        }

        # and once it can again
        postgresql_proxy.restore()
        after = {
            "me": http.get("/api/v1/me", headers=bearer),
            "login": http.post("/api/v1/auth/login", json=credentials),
            "readyz": http.get("/readyz"),
        }

    # then the API said 503 in its error shape, the page a short 503 page, readyz which check failed
    assert _unavailable_in_the_error_shape(during["me"]), during["me"].text
    assert _unavailable_in_the_error_shape(during["login"]), during["login"].text
    admin = during["admin"]
    assert admin.status_code == 503, admin.text
    assert admin.headers["content-type"].startswith("text/html")
    assert admin.headers.get("retry-after") == str(DATABASE_RETRY_AFTER)
    assert "Service unavailable" in admin.text
    assert "Traceback" not in admin.text
    assert during["readyz"].status_code == 503
    assert during["readyz"].json()["checks"]["database"].startswith("unavailable")
    assert during["healthz"].status_code == 200
    # and the same web answers again, on new connections, without being restarted
    assert {name: answer.status_code for name, answer in after.items()} == {
        "me": 200,
        "login": 200,
        "readyz": 200,
    }
    # and its log has a warning per 503, without the traceback (a 500 would keep its own)
    log = process.log()
    assert "the database is unavailable: OperationalError" in log, log[-2000:]
    assert "Traceback" not in log, log[-4000:]
