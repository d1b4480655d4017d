"""Settings, read once from the environment (django-environ, environment.py); `.env.example` lists
every one.

With nothing set, the platform runs on embedded defaults: SQLite, a filesystem broker that
separate processes on one machine share, a local-memory cache and mail written to files, all
under VAR_DIR. Production sets DATABASE_URL, CELERY_BROKER_URL, REDIS_URL, EMAIL_URL,
SECRET_KEY and DEBUG=false.

One module per concern. Django's and the libraries' settings keep the names those read (flat:
EMAIL_*, CELERY_*, OTP_*, WEBAUTHN_*); the platform's apps keep theirs as they were, one dict per
app (IDENTITY, EVENTBUS, AUDIT, NOTIFICATION) but integration's webhooks (WEBHOOK_*) and the
metrics (METRICS_*), which stay flat for the code and the environment variables that name them.
"""

from identity_project.settings.api import *  # noqa: F403
from identity_project.settings.audit import *  # noqa: F403
from identity_project.settings.broker import *  # noqa: F403
from identity_project.settings.core import *  # noqa: F403
from identity_project.settings.environment import *  # noqa: F403
from identity_project.settings.eventbus import *  # noqa: F403
from identity_project.settings.identity import *  # noqa: F403
from identity_project.settings.integration import *  # noqa: F403
from identity_project.settings.mail import *  # noqa: F403
from identity_project.settings.mfa import *  # noqa: F403
from identity_project.settings.notification import *  # noqa: F403
from identity_project.settings.observability import *  # noqa: F403
from identity_project.settings.schedule import *  # noqa: F403
from identity_project.settings.stores import *  # noqa: F403
