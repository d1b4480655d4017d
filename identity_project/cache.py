"""Django's Redis cache, keeping one redis client per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` for every operation, and redis-py fills some
170 response callbacks in each constructor: about a quarter of a millisecond, several times per
sign-in (throttles, lockout counters). A client holds no connection of its own (its pool does)
and is safe to share between threads, so one per pool serves them all.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


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
