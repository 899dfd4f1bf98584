"""Bounded retries with exponential backoff for transient I/O errors.

Object stores drop connections, throttle (503 SlowDown) and time out; a retry a moment later
usually succeeds. Errors that will not go away (missing object, access denied) are not retried.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_PERMANENT = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
# Client libraries raise their own exception types for network trouble (aiohttp.ClientError,
# botocore's EndpointConnectionError, ...) without depending on them we recognise them by module.
_NETWORK_MODULES = frozenset(
    {"aiohttp", "aiobotocore", "botocore", "urllib3", "requests", "http", "ssl", "google", "gcsfs"}
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # tries in all, the first included
    first_delay_s: float = 0.2
    max_delay_s: float = 5.0


DEFAULT_RETRY = RetryPolicy()


class ReadFailed(Exception):
    """A read that failed for good (after the retries, if the error was transient). Not an
    OSError on purpose: tarfile and zipfile turn OSErrors into "not a zip file" and the like,
    and this must reach the engine as what it is, an I/O failure, so that the unit is retried
    by the next scan rather than recorded as a corrupt shard."""


def is_transient(exc: BaseException) -> bool:
    """Whether trying again later might succeed."""
    if isinstance(exc, _PERMANENT):
        return False
    if isinstance(exc, (TimeoutError, ConnectionError, OSError)):
        # s3fs maps service errors it does not know (500, 503) to a plain OSError.
        return True
    return type(exc).__module__.split(".")[0] in _NETWORK_MODULES


def call_with_retries(
    fn: Callable[[], T],
    policy: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """`fn()`, tried up to `policy.attempts` times while it fails with a transient error."""
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:
            if attempt >= policy.attempts or not is_transient(exc):
                raise
            delay = min(policy.max_delay_s, policy.first_delay_s * 2 ** (attempt - 1))
            # Jitter: many workers throttled by one bucket prefix must not retry in lockstep.
            sleep(delay * random.uniform(0.5, 1.0))
            attempt += 1
