"""Django's Redis cache, keeping one redis client per connection pool; and counters made with a
lifetime by their first count, in one round trip.

Django's RedisCacheClient builds a new `redis.Redis` for every operation, and redis-py fills some
170 response callbacks in each constructor: about a quarter of a millisecond, several times per
sign-in (throttles, lockout counters). A client holds no connection of its own (its pool does)
and is safe to share between threads, so one per pool serves them all.
"""

import math

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.connection import ConnectionProxy


class SharedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = self._client(connection_pool=pool)
        return client


class SharedClientRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient

    def count(self, key: str, timeout: float) -> int:
        """See count(): SET NX EX and INCR in one MULTI, one round trip."""
        key = self.make_and_validate_key(key)
        with self._cache.get_client(key, write=True).pipeline() as pipe:
            _, counted = pipe.set(key, 0, ex=max(1, math.ceil(timeout)), nx=True).incr(key).execute()
        return counted


def count(cache: BaseCache, key: str, timeout: float) -> int:
    """Add one to the counter `key`, which its first count makes to live `timeout` seconds, and
    return the count: atomic, for throttles and lockout counters. On Redis one round trip where
    add() and incr() take three (Django's incr() asks whether the key exists first); elsewhere
    those two, and a counter that expired between them starts again at 1."""
    if isinstance(cache, ConnectionProxy):  # django.core.cache.cache, the default cache's proxy
        cache = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(cache, SharedClientRedisCache):
        return cache.count(key, timeout)
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=timeout)
        return 1
