"""Parameter types for law-core tasks: lists, ranges, durations, sizes and friends.

Each type parses what a user types on the command line or writes in a config file,
serializes values back to strings that parse to the same value (task ids are built from
them), and rejects bad input with a :class:`~law_core.errors.ParameterError` that names the
value and says what was expected. Parsed values are tuples, never lists, because luigi
hashes parameter values to cache task instances.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable
from typing import Any

import luigi

from law_core.errors import ParameterError

__all__ = [
    "NO_STR",
    "NO_INT",
    "NO_FLOAT",
    "is_no_param",
    "get_param",
    "brace_expand",
    "expand_ranges",
    "CSVParameter",
    "MultiCSVParameter",
    "RangeParameter",
    "MultiRangeParameter",
    "DurationParameter",
    "BytesParameter",
    "TaskInstanceParameter",
    "OptionalBoolParameter",
    "SettingParameter",
]

#: String value meaning "not set", for parameters that need a default but have no natural one.
NO_STR = "NO_STR"

#: Integer value meaning "not set".
NO_INT = -1

#: Float value meaning "not set".
NO_FLOAT = -1.0


def is_no_param(value: Any) -> bool:
    """True when *value* is one of the "not set" markers NO_STR, NO_INT or NO_FLOAT."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    return value in (NO_STR, NO_INT, NO_FLOAT)


def get_param(value: Any, default: Any = None) -> Any:
    """*value*, or *default* when *value* is a "not set" marker (see :func:`is_no_param`)."""
    return default if is_no_param(value) else value


def _fmt_number(value: float) -> str:
    """Shortest exact text for a number: ``90.0`` -> ``"90"``, ``1.5`` -> ``"1.5"``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- brace expansion -------------------------------------------------------------------------


def _check_braces(text: str) -> None:
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise ParameterError(f"unbalanced braces in '{text}': a '}}' has no opening '{{'")
    if depth:
        raise ParameterError(f"unbalanced braces in '{text}': a '{{' is never closed")


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split *text* at every *sep* that is not inside braces."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _expand(text: str) -> list[str]:
    depth = 0
    start = 0
    for i, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                head, body, tails = text[:start], text[start + 1 : i], _expand(text[i + 1 :])
                options = _split_top_level(body, ",")
                if len(options) == 1:
                    # no comma: the braces stay literal, like in the shell
                    middles = ["{" + m + "}" for m in _expand(body)]
                else:
                    middles = [m for option in options for m in _expand(option)]
                return [head + m + tail for m in middles for tail in tails]
    return [text]


def brace_expand(text: str, split_csv: bool = False) -> list[str]:
    """Expand shell-style braces: ``"a{1,2}b"`` -> ``["a1b", "a2b"]``; groups may nest.

    With *split_csv*, *text* is first split at the commas outside braces, so
    ``"x,a{1,2}"`` -> ``["x", "a1", "a2"]``. Braces without a comma stay literal.
    Unbalanced braces raise :class:`ParameterError`.
    """
    _check_braces(text)
    parts = _split_top_level(text, ",") if split_csv else [text]
    return [expanded for part in parts for expanded in _expand(part)]


# --- comma-separated lists -------------------------------------------------------------------


class CSVParameter(luigi.Parameter):
    """A comma-separated list, parsed into a tuple (hashable, as luigi needs).

    Each element is parsed by an instance of the parameter class *cls* (``luigi.Parameter``
    keeps strings, ``luigi.IntParameter`` gives ints, ...); whitespace around elements is
    dropped and ``""`` (or NO_STR) gives ``()``. *unique* drops repeated elements (first one
    kept), *sort* sorts them, *min_len*/*max_len* bound the number of elements and *choices*
    restricts the values. With *brace_expand*, ``"a{1,2}b,c"`` gives ``("a1b", "a2b", "c")``.
    """

    CSV_SEP = ","

    def __init__(
        self,
        *args: Any,
        cls: type[luigi.Parameter] | luigi.Parameter = luigi.Parameter,
        unique: bool = False,
        sort: bool = False,
        min_len: int | None = None,
        max_len: int | None = None,
        choices: Iterable[Any] | None = None,
        brace_expand: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._inner = cls if isinstance(cls, luigi.Parameter) else cls()
        self._unique = unique
        self._sort = sort
        self._min_len = min_len
        self._max_len = max_len
        self._choices = None if choices is None else tuple(choices)
        self._brace_expand = brace_expand

    def _split(self, text: str) -> list[str]:
        text = text.strip()
        if text in ("", NO_STR):
            return []
        parts = brace_expand(text, split_csv=True) if self._brace_expand else text.split(",")
        return [part.strip() for part in parts]

    def _parse_group(self, text: str) -> tuple[Any, ...]:
        values = []
        for part in self._split(text):
            try:
                values.append(self._inner.parse(part))
            except (ValueError, TypeError) as exc:
                raise ParameterError(f"invalid element '{part}' in '{text}': {exc}") from exc
        return self._finish(tuple(values), text)

    def _normalize_group(self, value: Any) -> tuple[Any, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return self._parse_group(value)
        items = value if isinstance(value, Iterable) else (value,)
        values = tuple(self._inner.normalize(item) for item in items)
        return self._finish(values, self.CSV_SEP.join(map(str, values)))

    def _finish(self, values: tuple[Any, ...], shown: str) -> tuple[Any, ...]:
        """Apply unique/sort and check choices and length; *shown* names the input in errors."""
        try:
            if self._unique:
                values = tuple(dict.fromkeys(values))
            if self._sort:
                values = tuple(sorted(values))
        except TypeError as exc:
            raise ParameterError(f"cannot make '{shown}' unique or sorted: {exc}") from exc
        if self._choices is not None:
            for value in values:
                if value not in self._choices:
                    expected = ", ".join(map(str, self._choices))
                    raise ParameterError(
                        f"invalid value '{value}' in '{shown}': expected one of {expected}"
                    )
        if self._min_len is not None and len(values) < self._min_len:
            raise ParameterError(
                f"'{shown}' has {len(values)} value(s), expected at least {self._min_len}"
            )
        if self._max_len is not None and len(values) > self._max_len:
            raise ParameterError(
                f"'{shown}' has {len(values)} value(s), expected at most {self._max_len}"
            )
        return values

    def parse(self, x: Any) -> tuple[Any, ...]:
        """``"a,b,c"`` -> ``("a", "b", "c")``, elements parsed by the inner parameter."""
        if not isinstance(x, str):
            return self.normalize(x)
        return self._parse_group(x)

    def normalize(self, x: Any) -> tuple[Any, ...]:
        """Accept a string (parsed), an iterable, a single value or None; return a tuple."""
        return self._normalize_group(x)

    def serialize(self, x: Any) -> str:
        """``("a", "b")`` -> ``"a,b"``; an empty value gives ``""``."""
        if isinstance(x, str):
            return x
        if not x:
            return ""
        return self.CSV_SEP.join(str(self._inner.serialize(item)) for item in x)


class MultiCSVParameter(CSVParameter):
    """Several comma-separated lists separated by colons: ``"a,b:c"`` -> ``(("a", "b"), ("c",))``.

    All options of :class:`CSVParameter` apply to each group on its own (e.g. *max_len* bounds
    the length of every group). ``""`` gives ``()``.
    """

    MULTI_CSV_SEP = ":"

    def parse(self, x: Any) -> tuple[tuple[Any, ...], ...]:
        """``"a,b:c,d"`` -> ``(("a", "b"), ("c", "d"))``."""
        if not isinstance(x, str):
            return self.normalize(x)
        if x.strip() in ("", NO_STR):
            return ()
        if self._brace_expand:
            _check_braces(x)
            groups = _split_top_level(x, self.MULTI_CSV_SEP)
        else:
            groups = x.split(self.MULTI_CSV_SEP)
        return tuple(self._parse_group(group) for group in groups)

    def normalize(self, x: Any) -> tuple[tuple[Any, ...], ...]:
        """Accept a string (parsed), an iterable of groups or None; return a tuple of tuples."""
        if x is None:
            return ()
        if isinstance(x, str):
            return self.parse(x)
        if not isinstance(x, Iterable):
            raise ParameterError(f"invalid value '{x}': expected groups like 'a,b:c,d'")
        return tuple(self._normalize_group(group) for group in x)

    def serialize(self, x: Any) -> str:
        """``(("a", "b"), ("c",))`` -> ``"a,b:c"``."""
        if isinstance(x, str):
            return x
        if not x:
            return ""
        return self.MULTI_CSV_SEP.join(CSVParameter.serialize(self, g) for g in x)


# --- integer ranges --------------------------------------------------------------------------

_RANGE_FORMS = "expected 'start:end' (end exclusive), 'start:', ':end', ':' or a single integer n"


class RangeParameter(luigi.Parameter):
    """An integer range ``"start:end"`` (end exclusive), parsed into ``(start, end)``.

    A missing start or end (``":5"``, ``"3:"``) is :attr:`OPEN`, which is ``None`` rather than
    law's NO_INT (-1), so that -1 stays a usable integer; *require_start*/*require_end* reject
    open ends. A single integer ``"n"`` means ``n:n+1``. When both ends are given, end must be
    greater than start.
    """

    RANGE_SEP = ":"

    #: Marks an open (missing) start or end.
    OPEN: None = None

    def __init__(
        self, *args: Any, require_start: bool = False, require_end: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._require_start = require_start
        self._require_end = require_end

    @staticmethod
    def _to_int(part: str, shown: str) -> int:
        try:
            return int(part)
        except ValueError:
            raise ParameterError(
                f"invalid range '{shown}': '{part}' is not an integer; {_RANGE_FORMS}"
            ) from None

    def _check(self, start: int | None, end: int | None, shown: str) -> tuple[int | None, ...]:
        if start is self.OPEN and self._require_start:
            raise ParameterError(f"invalid range '{shown}': a start is required, e.g. '3:10'")
        if end is self.OPEN and self._require_end:
            raise ParameterError(f"invalid range '{shown}': an end is required, e.g. '3:10'")
        if start is not self.OPEN and end is not self.OPEN and end <= start:
            raise ParameterError(
                f"invalid range '{shown}': end ({end}) must be greater than start ({start}), "
                "the end is exclusive"
            )
        return (start, end)

    def parse(self, x: Any) -> tuple[int | None, ...]:
        """``"1:5"`` -> ``(1, 5)``, ``"3:"`` -> ``(3, OPEN)``, ``"4"`` -> ``(4, 5)``."""
        if not isinstance(x, str):
            return self.normalize(x)
        text = x.strip()
        if not text:
            raise ParameterError(f"invalid range '{x}': it is empty; {_RANGE_FORMS}")
        parts = [part.strip() for part in text.split(self.RANGE_SEP)]
        if len(parts) == 1:
            n = self._to_int(parts[0], x)
            return (n, n + 1)
        if len(parts) != 2:
            raise ParameterError(f"invalid range '{x}': {_RANGE_FORMS}")
        start = self.OPEN if parts[0] == "" else self._to_int(parts[0], x)
        end = self.OPEN if parts[1] == "" else self._to_int(parts[1], x)
        return self._check(start, end, x)

    def normalize(self, x: Any) -> tuple[int | None, ...]:
        """Accept a string (parsed), an int n (-> (n, n+1)) or a (start, end) pair."""
        if isinstance(x, str):
            return self.parse(x)
        if _is_int(x):
            return (x, x + 1)
        if isinstance(x, (tuple, list)) and len(x) == 2:
            start, end = x
            if all(v is self.OPEN or _is_int(v) for v in (start, end)):
                return self._check(start, end, self.serialize(x))
        raise ParameterError(f"invalid range {x!r}: expected a (start, end) pair of ints or None")

    def serialize(self, x: Any) -> str:
        """``(1, 5)`` -> ``"1:5"``, ``(3, OPEN)`` -> ``"3:"``, ``(4, 5)`` -> ``"4"``."""
        if isinstance(x, str):
            return x
        start, end = x
        if _is_int(start) and _is_int(end) and end == start + 1:
            return str(start)
        start_str = "" if start is self.OPEN else str(start)
        end_str = "" if end is self.OPEN else str(end)
        return f"{start_str}{self.RANGE_SEP}{end_str}"


class MultiRangeParameter(luigi.Parameter):
    """Comma-separated ranges: ``"0:10,15,20:"`` -> ``((0, 10), (15, 16), (20, OPEN))``.

    Each range follows :class:`RangeParameter` (with the same *require_start*/*require_end*);
    ``""`` gives ``()``. :func:`expand_ranges` turns the value into branch numbers, which is
    what ``--branches`` uses.
    """

    def __init__(
        self, *args: Any, require_start: bool = False, require_end: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._range = RangeParameter(require_start=require_start, require_end=require_end)

    def parse(self, x: Any) -> tuple[tuple[int | None, ...], ...]:
        """``"0:10,15"`` -> ``((0, 10), (15, 16))``."""
        if not isinstance(x, str):
            return self.normalize(x)
        if x.strip() in ("", NO_STR):
            return ()
        parts = x.split(",")
        try:
            return tuple(self._range.parse(part) for part in parts)
        except ParameterError as exc:
            if len(parts) == 1:
                raise
            raise ParameterError(f"{exc} (in '{x}')") from exc

    def normalize(self, x: Any) -> tuple[tuple[int | None, ...], ...]:
        """Accept a string (parsed), None, or an iterable of ranges (pairs or single ints)."""
        if x is None:
            return ()
        if isinstance(x, str):
            return self.parse(x)
        if not isinstance(x, Iterable):
            raise ParameterError(f"invalid ranges {x!r}: expected e.g. '0:10,15,20:'")
        return tuple(self._range.normalize(r) for r in x)

    def serialize(self, x: Any) -> str:
        """``((0, 10), (15, 16), (20, OPEN))`` -> ``"0:10,15,20:"``."""
        if isinstance(x, str):
            return x
        return ",".join(self._range.serialize(r) for r in x)

    @staticmethod
    def expand(ranges: Any, n_max: int) -> list[int]:
        """Same as :func:`expand_ranges`."""
        return expand_ranges(ranges, n_max)


def expand_ranges(ranges: Any, n_max: int) -> list[int]:
    """The sorted, de-duplicated integers in ``[0, n_max)`` covered by *ranges*.

    *ranges* is a parsed :class:`MultiRangeParameter` value (``(start, end)`` pairs, end
    exclusive, or single ints n meaning ``n:n+1``) or a string like ``"0:10,15,20:"``. An open
    start (``None``) means 0 and an open end means *n_max*; anything outside ``[0, n_max)`` is
    dropped silently. Example: ``expand_ranges(((None, 2), (5, None)), 7)`` -> ``[0, 1, 5, 6]``.
    Note that a bare pair ``(0, 10)`` is read as the two single values 0 and 10.
    """
    if not _is_int(n_max) or n_max < 0:
        raise ParameterError(f"invalid n_max {n_max!r}: expected an integer >= 0")
    numbers: set[int] = set()
    for start, end in _RANGES.normalize(ranges):
        lo = 0 if start is RangeParameter.OPEN else max(start, 0)
        hi = n_max if end is RangeParameter.OPEN else min(end, n_max)
        numbers.update(range(lo, hi))
    return sorted(numbers)


def compress_ranges(numbers: Any) -> tuple[tuple[int, int], ...]:
    """The inverse of :func:`expand_ranges`: sorted integers as ``(start, end)`` ranges, end
    exclusive, e.g. ``[0, 1, 2, 5]`` -> ``((0, 3), (5, 6))`` (a ``--branches`` value)."""
    ranges: list[list[int]] = []
    for number in numbers:
        if ranges and ranges[-1][1] == number:
            ranges[-1][1] = number + 1
        else:
            ranges.append([number, number + 1])
    return tuple((start, end) for start, end in ranges)


_RANGES = MultiRangeParameter()


# --- durations and sizes ---------------------------------------------------------------------

_TIME_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_TIME_ALIASES = {
    **{alias: "ms" for alias in ("msec", "msecs", "millisecond", "milliseconds")},
    **{alias: "s" for alias in ("sec", "secs", "second", "seconds")},
    **{alias: "m" for alias in ("min", "mins", "minute", "minutes")},
    **{alias: "h" for alias in ("hr", "hrs", "hour", "hours")},
    **{alias: "d" for alias in ("day", "days")},
    **{alias: "w" for alias in ("week", "weeks")},
}
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_PLAIN_NUMBER = re.compile(_NUMBER)
_DURATION_TOKEN = re.compile(rf"\s*{_NUMBER}\s*([a-zA-Z]+)\s*,?\s*")
_COLON_FORM = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?")


def _time_unit(unit: str) -> str | None:
    unit = unit.lower()
    unit = _TIME_ALIASES.get(unit, unit)
    return unit if unit in _TIME_UNITS else None


class DurationParameter(luigi.Parameter):
    """A duration, parsed into a float counted in *unit* (default seconds).

    Accepted: plain numbers (meaning *unit*), number-unit pairs that add up (``"1h30m"``,
    ``"2d"``, ``"90s"``, ``"1.5h"``, ``"1 hour, 5 min"``; units ms, s, m, h, d, w and their
    long names) and ``"mm:ss"`` / ``"hh:mm:ss"``. ``""`` gives 0. With ``unit="m"``,
    ``"1h30m"`` -> ``90.0``. Serialized values parse back to exactly the same float.
    """

    def __init__(self, *args: Any, unit: str = "s", **kwargs: Any) -> None:
        resolved = _time_unit(unit)
        if resolved is None:
            raise ParameterError(
                f"unknown duration unit '{unit}', expected one of {', '.join(_TIME_UNITS)}"
            )
        self.unit = resolved
        super().__init__(*args, **kwargs)

    def _error(self, text: str, reason: str = "") -> ParameterError:
        return ParameterError(
            f"invalid duration '{text}'{reason}: expected a number (in {self.unit}), number-unit "
            f"pairs like '1h30m', '2d', '90s', '1.5h' (units {', '.join(_TIME_UNITS)}) "
            "or 'mm:ss' / 'hh:mm:ss'"
        )

    def parse(self, x: Any) -> float:
        """``"1h30m"`` -> 5400.0 with unit "s", 90.0 with unit "m"; ``"5"`` -> 5.0 *unit*."""
        if not isinstance(x, str):
            return self.normalize(x)
        text = x.strip()
        if not text:
            return 0.0
        if _PLAIN_NUMBER.fullmatch(text):
            return float(text)
        factor = _TIME_UNITS[self.unit]
        colon = _COLON_FORM.fullmatch(text)
        if colon:
            first, second, third = colon.groups()
            if third is None:
                minutes, seconds, hours = int(first), float(second), 0
            else:
                hours, minutes, seconds = int(first), int(second), float(third)
                if minutes >= 60:
                    raise self._error(x, f" ({minutes} minutes)")
            if seconds >= 60:
                raise self._error(x, f" ({second} seconds)")
            return (hours * 3600 + minutes * 60 + seconds) / factor
        total = 0.0
        pos = 0
        while pos < len(text):
            token = _DURATION_TOKEN.match(text, pos)
            if token is None:
                raise self._error(x)
            number, unit = token.groups()
            resolved = _time_unit(unit)
            if resolved is None:
                raise self._error(x, f" (unknown unit '{unit}')")
            total += float(number) * (_TIME_UNITS[resolved] / factor)
            pos = token.end()
        return total

    def normalize(self, x: Any) -> float:
        """Accept a number (in *unit*), a string (parsed) or a ``datetime.timedelta``."""
        if isinstance(x, str):
            return self.parse(x)
        if isinstance(x, datetime.timedelta):
            x = x.total_seconds() / _TIME_UNITS[self.unit]
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise self._error(str(x))
        if x < 0:
            raise self._error(str(x), " (negative)")
        return float(x)

    def serialize(self, x: Any) -> str:
        """``5400.0`` (unit "s") -> ``"1h30m"``; falls back to ``"<number><unit>"``."""
        if isinstance(x, str):
            return x
        value = self.normalize(x)
        seconds = value * _TIME_UNITS[self.unit]
        if seconds.is_integer() and seconds < 1e15:
            rest = int(seconds)
            parts = []
            for unit in ("d", "h", "m", "s"):
                count, rest = divmod(rest, int(_TIME_UNITS[unit]))
                if count:
                    parts.append(f"{count}{unit}")
            text = "".join(parts) or "0s"
            if self.parse(text) == value:
                return text
        return f"{_fmt_number(value)}{self.unit}"


_BYTE_UNITS = {
    "B": 1,
    "kB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "PB": 1000**5,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "PiB": 1024**5,
}
_BYTE_LOOKUP = {
    **{unit.lower(): unit for unit in _BYTE_UNITS},
    "byte": "B",
    "bytes": "B",
}
_BYTES_FORM = re.compile(rf"{_NUMBER}\s*([a-zA-Z]*)")


def _byte_unit(unit: str) -> str | None:
    return _BYTE_LOOKUP.get(unit.lower())


class BytesParameter(luigi.Parameter):
    """A size in bytes, parsed into a float counted in *unit* (default MB).

    Accepted: plain numbers (meaning *unit*) and a number with a unit: decimal kB, MB, GB, TB,
    PB (powers of 1000), binary KiB, MiB, GiB, TiB, PiB (powers of 1024) or B; units are
    matched case-insensitively (``"2gb"`` is 2 GB). ``""`` gives 0. With ``unit="MB"``,
    ``"2GB"`` -> ``2000.0`` and ``"1KiB"`` -> ``0.001024``.
    """

    def __init__(self, *args: Any, unit: str = "MB", **kwargs: Any) -> None:
        resolved = _byte_unit(unit)
        if resolved is None:
            raise ParameterError(
                f"unknown size unit '{unit}', expected one of {', '.join(_BYTE_UNITS)}"
            )
        self.unit = resolved
        super().__init__(*args, **kwargs)

    def _error(self, text: str, reason: str = "") -> ParameterError:
        return ParameterError(
            f"invalid size '{text}'{reason}: expected a number (in {self.unit}) or a number "
            f"with a unit like '2GB', '512kB', '1.5GiB' (units {', '.join(_BYTE_UNITS)})"
        )

    def parse(self, x: Any) -> float:
        """``"2GB"`` -> 2000.0 with unit "MB"; ``"5"`` -> 5.0 *unit*."""
        if not isinstance(x, str):
            return self.normalize(x)
        text = x.strip()
        if not text:
            return 0.0
        match = _BYTES_FORM.fullmatch(text)
        if match is None:
            raise self._error(x)
        number, unit = match.groups()
        resolved = _byte_unit(unit) if unit else self.unit
        if resolved is None:
            raise self._error(x, f" (unknown unit '{unit}')")
        if resolved == self.unit:
            return float(number)
        return float(number) * (_BYTE_UNITS[resolved] / _BYTE_UNITS[self.unit])

    def normalize(self, x: Any) -> float:
        """Accept a number (in *unit*) or a string (parsed)."""
        if isinstance(x, str):
            return self.parse(x)
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise self._error(str(x))
        if x < 0:
            raise self._error(str(x), " (negative)")
        return float(x)

    def serialize(self, x: Any) -> str:
        """``2000.0`` -> ``"2000MB"`` (always in *unit*, so it parses back exactly)."""
        if isinstance(x, str):
            return x
        return f"{_fmt_number(self.normalize(x))}{self.unit}"


# --- others ----------------------------------------------------------------------------------


class TaskInstanceParameter(luigi.Parameter):
    """Holds a task instance, for tasks that are built in code and passed to other tasks.

    A task cannot be rebuilt from a string, so parsing raises :class:`ParameterError`;
    serializing gives the task's repr (``Family(param=value, ...)``), which makes the value
    part of the owning task's id.
    """

    def parse(self, x: Any) -> luigi.Task:
        """Task instances pass, and the strings law-core writes for them to reach another
        process (:func:`law_core.arguments.task_value`); other strings are rejected."""
        from law_core.arguments import TASK_VALUE_PREFIX, task_from_value

        if isinstance(x, str) and x.startswith(TASK_VALUE_PREFIX):
            return self.normalize(task_from_value(x))
        if isinstance(x, str):
            raise ParameterError(
                f"cannot build a task from the string '{x}': a TaskInstanceParameter takes a "
                "task instance, so set it in code, not on the command line or in a config"
            )
        return self.normalize(x)

    def normalize(self, x: Any) -> luigi.Task | None:
        """Accept a ``luigi.Task`` instance, or None for "no task"."""
        if x is None or isinstance(x, luigi.Task):
            return x
        raise ParameterError(f"invalid value {x!r}: expected a luigi.Task instance")

    def serialize(self, x: Any) -> str:
        """The task's repr, e.g. ``"MyTask(n=3)"``."""
        return str(x)


class OptionalBoolParameter(luigi.Parameter):
    """A boolean that may also be unset: ``True``, ``False`` or ``None``.

    Parses ``"true"``/``"false"``/``"none"`` (any case) and ``""`` (-> None); anything else
    raises :class:`ParameterError`. The default is None. On the command line a bare
    ``--flag`` means True.
    """

    def __init__(self, default: bool | None = None, **kwargs: Any) -> None:
        super().__init__(default=default, **kwargs)

    def parse(self, x: Any) -> bool | None:
        """``"True"`` -> True, ``"false"`` -> False, ``"None"`` / ``""`` -> None."""
        if not isinstance(x, str):
            return self.normalize(x)
        text = x.strip().lower()
        if text in ("", "none"):
            return None
        if text == "true":
            return True
        if text == "false":
            return False
        raise ParameterError(f"invalid value '{x}': expected True, False or None")

    def normalize(self, x: Any) -> bool | None:
        """Accept True, False, None or one of the strings :meth:`parse` accepts."""
        if x is None or isinstance(x, bool):
            return x
        if isinstance(x, str):
            return self.parse(x)
        raise ParameterError(f"invalid value {x!r}: expected True, False or None")

    def serialize(self, x: Any) -> str:
        """``"True"``, ``"False"`` or ``"None"``."""
        return str(self.normalize(x))

    def _parser_kwargs(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        parser_kwargs = super()._parser_kwargs(*args, **kwargs)
        parser_kwargs.update(nargs="?", const="true")
        return parser_kwargs


class SettingParameter(luigi.Parameter):
    """A backend option on the command line (``--slurm-partition``), made by
    :meth:`law_core.settings.Settings.parameters`: unset (None) unless the user gives it,
    so that the config, then the declared default, decide; parsed by the option's kind."""

    def __init__(self, spec: Any, section: str) -> None:
        self.spec = spec
        help_text = f"{spec.help}; default: [{section}] {spec.name} in the config, else " \
            f"{spec.text(spec.default) or 'none'}"
        super().__init__(default=None, significant=False, description=help_text)

    def parse(self, x: Any) -> Any:
        if x is None or (isinstance(x, str) and not x.strip()):
            return None
        try:
            return self.spec.parse(x)
        except ValueError as err:
            raise ParameterError(f"invalid value {x!r} for {self.spec.name}: expected "
                                 f"{self.spec.describe()} ({err})") from None

    def normalize(self, x: Any) -> Any:
        return x if x is None else self.parse(x)

    def serialize(self, x: Any) -> str:
        return "" if x is None else self.spec.text(x)
