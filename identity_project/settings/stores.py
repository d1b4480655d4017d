"""The database and the caches (throttles, webhook circuit state)."""

from identity_project.settings.environment import VAR_DIR, env

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's, making the file's folder when it first connects (identity_project/sqlite).
    DATABASES["default"]["ENGINE"] = "identity_project.sqlite"
    # Web, worker, beat and relay share one file: WAL lets readers run beside the one writer,
    # IMMEDIATE takes the write lock up front instead of failing half-way with "locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "identity_project.cache.SharedClientRedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The circuit breakers' state lives in the default cache (Redis in production, shared by all
# workers) unless this names a Redis of its own.
WEBHOOK_CIRCUIT_CACHE_URL = env.str("WEBHOOK_CIRCUIT_CACHE_URL", default="")
if WEBHOOK_CIRCUIT_CACHE_URL:
    CACHES["webhook_circuits"] = {
        "BACKEND": "identity_project.cache.SharedClientRedisCache",
        "LOCATION": WEBHOOK_CIRCUIT_CACHE_URL,
    }
WEBHOOK_CIRCUIT_CACHE = "webhook_circuits" if WEBHOOK_CIRCUIT_CACHE_URL else "default"
