"""The environment, read here once: every setting is one line of one module beside this one.

The project's `.env` file fills what the process leaves unset, in a mapping of its own: it is
never written into os.environ, and a child process gets only the environment it was given.
"""

import os
from collections import ChainMap
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parents[2]


class _DotEnv(environ.Env):
    ENVIRON: dict[str, str] = {}


if (BASE_DIR / ".env").exists():
    _DotEnv.read_env(BASE_DIR / ".env")

env = environ.Env()
env.ENVIRON = ChainMap(os.environ, _DotEnv.ENVIRON)

# Where the embedded defaults keep their files: each is made by what uses it (the SQLite backend,
# the Celery app once configured, `migrate` for the development key, the mail backend, audit's
# exports and archive, multiproc.prepare), never by importing the settings.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=True)
