"""identity_project.cache.count: the counters of throttles, lockout and circuits, on the real Redis
the tests run with and on the in-process cache of the embedded defaults."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache

from identity_project.cache import SharedClientRedisCache, count

CACHES = {
    "redis": lambda: cache,  # the proxy, as the lockout counts with it
    "in-process": lambda: LocMemCache(f"counters-{uuid.uuid4()}", {}),
}


@pytest.fixture(params=sorted(CACHES))
def counters(request):
    made = CACHES[request.param]()
    if request.param == "redis":
        assert isinstance(caches["default"], SharedClientRedisCache)  # as the tests' settings promise
    return made


def test_counts_from_many_threads_at_once_are_each_given_once(counters):
    key = f"count-{uuid.uuid4()}"
    with ThreadPoolExecutor(8) as pool:
        given = list(pool.map(lambda _: count(counters, key, timeout=60), range(200)))

    assert sorted(given) == list(range(1, 201))
    assert counters.get(key) == 200


def test_a_counter_lives_its_timeout_from_its_first_count_then_starts_again(counters):
    key = f"count-{uuid.uuid4()}"
    assert [count(counters, key, timeout=1) for _ in range(3)] == [1, 2, 3]

    time.sleep(1.2)

    assert counters.get(key) is None
    assert count(counters, key, timeout=1) == 1
