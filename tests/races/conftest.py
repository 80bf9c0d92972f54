import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection


def run_concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Runs `work(i)` in `count` threads released together by a barrier, each on its own
    database connection, and returns their results in order (an exception is a result)."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as error:  # reported to the test, which asserts on it
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results


@pytest.fixture
def concurrently() -> Callable[[int, Callable[[int], Any]], list[Any]]:
    return run_concurrently
