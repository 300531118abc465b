"""How a remote operation is attempted: over several bases, with retries and a delay.

A grid storage is often reached through several doors (``root://door1``, ``root://door2``)
or protocols. An operation tries the bases of its kind in order (shuffled with
``random_base``); a base that fails to answer is remembered as *bad* for
``bad_base_time`` seconds, during which it is tried only after all good ones, so a dead
door costs one failed attempt, not one per call. When every base failed, the whole round
is retried after ``retry_delay`` seconds, ``retries`` times. Definitive answers
(file not found, ...) are never retried.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TypeVar

from law_core.errors import StorageUnreachableError, TargetError
from law_core.targets.uri import normalize_base, redact

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: the kinds of operation that may have their own bases (``base_stat = ...``)
OPERATIONS = ("stat", "listdir", "mkdir", "remove", "rmdir", "rename", "filecopy")

#: aliases law users know from law's config (``base_unlink``, ``base_mkdir_rec``, ...)
OPERATION_ALIASES = {"exists": "stat", "unlink": "remove", "mkdir_rec": "mkdir"}


class BadBases:
    """Bases that failed recently, shared by every file system of the process (two file
    systems on the same door learn from each other)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def mark(self, base: str, seconds: float) -> None:
        with self._lock:
            self._until[base] = time.monotonic() + seconds

    def clear(self, base: str | None = None) -> None:
        with self._lock:
            if base is None:
                self._until.clear()
            else:
                self._until.pop(base, None)

    def is_bad(self, base: str) -> bool:
        until = self._until.get(base)
        if until is None:
            return False
        if until <= time.monotonic():
            with self._lock:
                self._until.pop(base, None)
            return False
        return True

    def order(self, bases: Iterable[str]) -> list[str]:
        """``bases`` with the good ones first (order kept), then the bad ones, the one
        that recovers first leading."""
        bases = list(bases)
        good = [b for b in bases if not self.is_bad(b)]
        bad = sorted((b for b in bases if b not in good), key=lambda b: self._until.get(b, 0))
        return good + bad


#: the process-wide memory of bad bases
bad_bases = BadBases()


class Failover:
    """The bases of one file system per operation, and the loop that attempts an
    operation over them."""

    def __init__(
        self,
        base: str | Iterable[str],
        op_bases: Mapping[str, str | Iterable[str]] | None = None,
        retries: int = 1,
        retry_delay: float = 2.0,
        random_base: bool = False,
        bad_base_time: float = 60.0,
        is_transient: Callable[[BaseException], bool] | None = None,
    ):
        self.bases = parse_bases(base)
        if not self.bases:
            raise TargetError("a remote file system needs at least one base")
        self.op_bases: dict[str, list[str]] = {}
        for op, value in (op_bases or {}).items():
            op = OPERATION_ALIASES.get(op, op)
            if op not in OPERATIONS:
                raise TargetError(
                    f"unknown operation '{op}' for per-operation bases; known: "
                    f"{', '.join(OPERATIONS)}"
                )
            bases = parse_bases(value)
            if bases:
                self.op_bases[op] = bases
        if retries < 0:
            raise TargetError(f"retries must be 0 or more, not {retries}")
        self.retries = retries
        self.retry_delay = max(0.0, float(retry_delay))
        self.random_base = random_base
        self.bad_base_time = float(bad_base_time)
        self.is_transient = is_transient or (lambda err: True)

    def bases_for(self, op: str) -> list[str]:
        """The configured bases of ``op`` (its own, else the general ones)."""
        return self.op_bases.get(op) or self.bases

    def first_base(self, op: str | None = None) -> str:
        return self.bases_for(op)[0] if op else self.bases[0]

    def preferred(self, op: str) -> str:
        """The base ``op`` would try first now."""
        return self._ordered(op)[0]

    def _ordered(self, op: str) -> list[str]:
        bases = list(self.bases_for(op))
        if self.random_base and len(bases) > 1:
            random.shuffle(bases)
        return bad_bases.order(bases)

    def call(self, op: str, func: Callable[[str], T], what: str) -> T:
        """``func(base)`` on the bases of ``op`` until one answers; definitive errors are
        raised at once, and when no base answered after all retries a
        :class:`~law_core.errors.StorageUnreachableError` naming ``what`` (a description
        like "stat of /x") is raised: what the storage holds is unknown, never absent."""
        errors: list[tuple[str, BaseException]] = []
        for attempt in range(self.retries + 1):
            if attempt:
                logger.info("retrying %s in %.1f s (attempt %d of %d)", redact(what),
                            self.retry_delay, attempt + 1, self.retries + 1)
                time.sleep(self.retry_delay)
            for base in self._ordered(op):
                try:
                    result = func(base)
                except Exception as err:
                    if not self.is_transient(err):
                        raise
                    errors.append((base, err))
                    if self.bad_base_time > 0:
                        bad_bases.mark(base, self.bad_base_time)
                    logger.warning("%s failed on base %s: %s", redact(what), redact(base),
                                   redact(str(err)))
                    continue
                if errors:
                    bad_bases.clear(base)  # it answered: whatever it was, it is good now
                return result
        tried = ", ".join(dict.fromkeys(redact(b) for b, _ in errors))
        last_base, last = errors[-1]
        last_text = f"{type(last).__name__}: {redact(str(last))}"
        raise StorageUnreachableError(
            f"{redact(what)} failed: no base answered in {self.retries + 1} attempt(s) "
            f"(bases tried: {tried}); last error from {redact(last_base)}: {last_text}; "
            "check that the storage is reachable and the bases are right, or raise "
            "retries/retry_delay",
            reason=f"no base answered ({tried}): {last_text}",
        ) from last


def parse_bases(value: str | Iterable[str]) -> list[str]:
    """Canonical bases from a string (comma-separated, brace-expanded) or an iterable of them."""
    from law_core.parameters import brace_expand

    items = [value] if isinstance(value, str) else list(value)
    bases: list[str] = []
    for item in items:
        for expanded in brace_expand(item, split_csv=True):
            if expanded.strip():
                bases.append(normalize_base(expanded.strip()))
    return list(dict.fromkeys(bases))
