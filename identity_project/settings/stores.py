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
    # TCP keepalives and a user timeout on both ends of every connection: a host cut off from the
    # network (a pulled cable: nothing is reset) leaves its sessions open, each holding what its
    # transaction locked (a consumer's claim, which another host's worker then waits on), until
    # the kernel gives up on the peer: over two hours when the line was quiet, a quarter of an
    # hour of retransmissions when data was still unacknowledged. With probes after
    # DATABASE_KEEPALIVE seconds of silence, every third of that, three unanswered ones end the
    # session, and unacknowledged data ends it after as long: the server rolls it back and the
    # locks go after about twice DATABASE_KEEPALIVE. The client's side lets a process find a dead
    # server the same way, instead of waiting on it.
    keepalive = env.int("DATABASE_KEEPALIVE", default=30)
    probes = {"idle": keepalive, "interval": max(1, keepalive // 3), "count": 3}
    user_timeout = 1000 * (probes["idle"] + probes["interval"] * probes["count"])  # milliseconds
    server = [f"-c tcp_keepalives_{name}={value}" for name, value in probes.items()]
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        keepalives=1,
        **{f"keepalives_{name}": value for name, value in probes.items()},
        tcp_user_timeout=user_timeout,
        options=" ".join([*server, f"-c tcp_user_timeout={user_timeout}"]),
    )

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
