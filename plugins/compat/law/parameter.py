"""law's parameter classes with law 0.1.21's parsing and serialization.

law-core has parameters of the same names (``law_core.parameters``) whose formats differ
in places (end-exclusive ranges, decimal byte units, ``1h30m`` durations); analyses written
for law rely on law's formats, in task ids, reprs and command lines, so the classes here
follow law. The "not set" markers are law-core's, which have law's values.
"""

from __future__ import annotations

import csv
import functools
import logging
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import luigi

from law_core import NO_FLOAT, NO_INT, NO_STR
from law_core import OptionalBoolParameter as _CoreOptionalBool
from law_core import TaskInstanceParameter as _CoreTaskInstance
from law_core import is_no_param as _core_is_no_param

__all__ = [
    "NO_STR", "NO_INT", "NO_FLOAT", "is_no_param", "get_param", "Parameter",
    "TaskInstanceParameter", "OptionalBoolParameter", "DurationParameter", "BytesParameter",
    "CSVParameter", "MultiCSVParameter", "RangeParameter", "MultiRangeParameter",
    "NotifyParameter", "NotifyMultiParameter", "NotifyMailParameter", "NotifyCustomParameter",
]

logger = logging.getLogger(__name__)


def _util() -> Any:
    """law.util, imported when first needed (it imports this module's neighbours)."""
    from law import util

    return util


def _is_no_value(value: Any) -> bool:
    try:
        return value is _util().no_value
    except (ImportError, AttributeError):
        return False


def is_no_param(value: Any) -> bool:
    """True for law's "not set" values: NO_STR, NO_INT, NO_FLOAT and ``law.util.no_value``."""
    return _core_is_no_param(value) or _is_no_value(value)


def get_param(value: Any, default: Any = None) -> Any:
    """``value``, or ``default`` when it is a "not set" value (:func:`is_no_param`)."""
    return default if is_no_param(value) else value


def _empty(value: Any) -> bool:
    """The inputs law parses to an empty value."""
    return value is None or (isinstance(value, str) and value in ("", NO_STR)) or \
        _is_no_value(value)


def _make_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, tuple):
        return value
    if isinstance(value, (list, set, frozenset)) or _is_lazy(value):
        return tuple(value)
    return (value,)


def _is_lazy(value: Any) -> bool:
    import types

    return isinstance(value, (types.GeneratorType, map, filter, range, zip)) or \
        type(value).__name__ in ("dict_keys", "dict_values", "dict_items")


class Parameter(luigi.Parameter):
    """luigi's parameter with law's ``parse_empty`` option: when true, an empty value on the
    command line is parsed too (luigi would take the default)."""

    def __init__(self, *args: Any, parse_empty: bool = False, **kwargs: Any) -> None:
        self.parse_empty = parse_empty
        super().__init__(*args, **kwargs)


class TaskInstanceParameter(_CoreTaskInstance):
    """A task instance (law-core's parameter, which another process can rebuild); its
    serialized form is the task id, as in law."""

    def serialize(self, x: Any) -> str:
        if isinstance(x, luigi.Task):
            return getattr(x, "live_task_id", x.task_id)
        return str(x)


class OptionalBoolParameter(_CoreOptionalBool):
    """True, False or None; parses law's spellings (true/yes/1, false/no/0, none)."""

    def parse(self, x: Any) -> bool | None:
        if isinstance(x, bool) or x is None:
            return x
        text = str(x).strip().lower()
        if text in ("true", "yes", "1"):
            return True
        if text in ("false", "no", "0"):
            return False
        if text in ("none", ""):
            return None
        raise ValueError(f"cannot interpret '{x}' as boolean: expected true/yes/1, "
                         "false/no/0 or none")

    def normalize(self, x: Any) -> bool | None:
        return self.parse(x)


class DurationParameter(Parameter):
    """A duration as a float in ``unit`` (default seconds), in law's formats: a plain number
    (in ``unit``), ``"5m"``, ``"5 minutes, 15 seconds"``, ``"[d-][hh:]mm:ss"``. Serialized
    in the colon format (``310`` s -> ``"05:10"``)."""

    def __init__(self, *args: Any, unit: str = "s", **kwargs: Any) -> None:
        self._unit = ""
        self.unit = unit
        super().__init__(*args, **kwargs)

    @property
    def unit(self) -> str:
        return self._unit

    @unit.setter
    def unit(self, unit: str) -> None:
        util = _util()
        unit = util.time_unit_aliases.get(unit, unit)
        if unit not in util.time_units:
            raise ValueError(f"unknown duration unit '{unit}', expected one of "
                             f"{', '.join(util.time_units)} or their short forms")
        self._unit = unit

    def parse(self, x: Any) -> float:
        if _empty(x):
            x = "0"
        return _util().parse_duration(x, input_unit=self.unit, unit=self.unit)

    def normalize(self, x: Any) -> Any:
        return self.parse(x) if isinstance(x, str) else x

    def serialize(self, x: Any) -> str:
        util = _util()
        seconds = util.parse_duration(x or 0, input_unit=self.unit, unit="s")
        return util.human_duration(seconds=seconds, colon_format=True)


class BytesParameter(Parameter):
    """A size as a float in ``unit`` (default MB), in law's binary units (1 GB = 1024 MB):
    ``"5"`` (in ``unit``), ``"1 GB"``, ``"512kB"``. Serialized as ``"<value><unit>"``."""

    def __init__(self, *args: Any, unit: str = "MB", **kwargs: Any) -> None:
        self._unit = ""
        self.unit = unit
        super().__init__(*args, **kwargs)

    @property
    def unit(self) -> str:
        return self._unit

    @unit.setter
    def unit(self, unit: str) -> None:
        units = _util().byte_units
        if unit not in units:
            raise ValueError(f"unknown size unit '{unit}', expected one of {', '.join(units)}")
        self._unit = unit

    def parse(self, x: Any) -> float:
        if _empty(x):
            x = "0"
        return _util().parse_bytes(x, input_unit=self.unit, unit=self.unit)

    def normalize(self, x: Any) -> Any:
        return self.parse(x) if isinstance(x, str) else x

    def serialize(self, x: Any) -> str:
        util = _util()
        n_bytes = util.parse_bytes(x or 0, input_unit=self.unit, unit="bytes")
        value, unit = util.human_bytes(n_bytes, unit=self.unit)
        return f"{util.try_int(value)}{unit}"


_ESCAPED_COMMA = "\x00law-compat-escaped-comma\x00"
_ESCAPED_COLON = "\x00law-compat-escaped-colon\x00"


class CSVParameter(Parameter):
    """A comma-separated list parsed into a tuple, as law does it: items parsed by ``cls``
    (or the parameter instance ``inst``), csv quoting (``a,"b,c"``) and backslash-escaped
    commas (``escape_sep``), options ``unique``, ``sort`` (bool or key function),
    ``min_len``, ``max_len``, ``choices``, ``brace_expand`` and ``force_tuple`` (when false,
    a single value without a trailing comma stays a single value)."""

    def __init__(self, *args: Any, cls: type[luigi.Parameter] = luigi.Parameter,
                 inst: luigi.Parameter | None = None, unique: bool = False,
                 sort: Any = False, min_len: int | None = None, max_len: int | None = None,
                 choices: Iterable[Any] | None = None, brace_expand: bool = False,
                 escape_sep: bool = True, force_tuple: bool = True, **kwargs: Any) -> None:
        self._inst = cls() if inst is None else inst
        self._cls = type(self._inst)
        self._unique = unique
        self._sort = sort
        self._min_len = min_len
        self._max_len = max_len
        self._choices = choices
        self._brace_expand = brace_expand
        self._escape_sep = escape_sep
        self._force_tuple = force_tuple
        if "default" in kwargs:
            kwargs["default"] = _make_tuple(kwargs["default"])
        super().__init__(*args, **kwargs)

    def _checked(self, value: tuple[Any, ...]) -> tuple[Any, ...]:
        if self._unique:
            value = tuple(dict.fromkeys(value))
        if self._sort:
            value = tuple(sorted(value, key=self._sort if callable(self._sort) else None))
        shown = ",".join(map(str, value))
        if self._min_len is not None and len(value) < self._min_len:
            raise ValueError(f"'{shown}' contains {len(value)} value(s), a minimum of "
                             f"{self._min_len} is required")
        if self._max_len is not None and len(value) > self._max_len:
            raise ValueError(f"'{shown}' contains {len(value)} value(s), a maximum of "
                             f"{self._max_len} is required")
        if self._choices:
            unknown = [v for v in dict.fromkeys(value) if v not in self._choices]
            if unknown:
                raise ValueError(f"invalid parameter value(s) '{','.join(map(str, unknown))}', "
                                 f"valid choices are '{','.join(map(str, self._choices))}'")
        return value

    def _split(self, text: str) -> list[str]:
        if self._brace_expand:
            return list(_util().brace_expand(text, split_csv=True,
                                             escape_csv_sep=self._escape_sep))
        if self._escape_sep:
            text = text.replace("\\,", _ESCAPED_COMMA)
        items = next(csv.reader([text]))
        if self._escape_sep:
            items = [item.replace(_ESCAPED_COMMA, ",") for item in items]
        return items

    def parse(self, x: Any) -> Any:
        single = False
        if _empty(x):
            value: tuple[Any, ...] = ()
        elif isinstance(x, (tuple, list)) or _is_lazy(x):
            value = tuple(x)
        elif isinstance(x, str):
            items = self._split(x)
            if items and not items[-1]:
                items.pop()  # a trailing comma
            value = tuple(self._inst.parse(item) for item in items)
            single = len(value) == 1 and not self._force_tuple
        else:
            value = (x,)
        value = self._checked(value)
        return value[0] if single else value

    def normalize(self, x: Any) -> Any:
        # luigi normalizes values given in code; a string given in code is parsed by
        # law.Task's construction, a list becomes a tuple (hashable)
        if isinstance(x, list) or _is_lazy(x):
            return tuple(x)
        return x

    def serialize(self, x: Any) -> str:
        if x is None or (isinstance(x, str) and x == NO_STR) or _is_no_value(x):
            x = ()
        was_sequence = isinstance(x, (tuple, list))
        value = self._checked(_make_tuple(x))
        text = ",".join(str(self._inst.serialize(item)) for item in value)
        if len(value) == 1 and not self._force_tuple and was_sequence:
            text += ","
        return text


class MultiCSVParameter(CSVParameter):
    """Comma-separated lists separated by colons, ``"a,b:c"`` -> ``(("a", "b"), ("c",))``;
    each list follows :class:`CSVParameter`'s options; ``\\:`` is a literal colon."""

    class _Dialect(csv.excel):
        delimiter = ":"

    def parse(self, x: Any) -> tuple[Any, ...]:
        if not x or (isinstance(x, str) and x == NO_STR):
            return ()
        if isinstance(x, (tuple, list)) or _is_lazy(x):
            return tuple(super(MultiCSVParameter, self).parse(v) for v in x)
        if isinstance(x, str):
            if self._escape_sep:
                x = x.replace("\\:", _ESCAPED_COLON)
            groups = next(csv.reader([x], dialect=self._Dialect()))
            if self._escape_sep:
                groups = [group.replace(_ESCAPED_COLON, ":") for group in groups]
            return tuple(super(MultiCSVParameter, self).parse(g) for g in groups)
        return (super().parse(x),)

    def normalize(self, x: Any) -> Any:
        if isinstance(x, list) or _is_lazy(x):
            return tuple(tuple(g) if isinstance(g, list) else g for g in x)
        return x

    def serialize(self, x: Any) -> str:
        if not x:
            return ""
        return ":".join(super(MultiCSVParameter, self).serialize(v) for v in _make_tuple(x))


class RangeParameter(Parameter):
    """A range ``"start:end"`` parsed into ``(start, end)`` as law does it: both ends
    required unless ``require_start``/``require_end`` is false (an open end is
    :attr:`OPEN`), a single integer accepted (as ``(n,)``) only with ``single_value``."""

    RANGE_SEP = ":"
    OPEN = None

    @classmethod
    def expand(cls, range: Any, **kwargs: Any) -> list[int]:
        """The sorted integers of a parsed range (law.util.range_expand's rules)."""
        return sorted(set(_util().range_expand(range, **kwargs)))

    def __init__(self, *args: Any, require_start: bool = True, require_end: bool = True,
                 single_value: bool = False, **kwargs: Any) -> None:
        self._require_start = require_start
        self._require_end = require_end
        self._single_value = single_value
        if "default" in kwargs:
            kwargs["default"] = _make_tuple(kwargs["default"])
        super().__init__(*args, **kwargs)

    def _check(self, value: Any) -> None:
        def is_int(v: Any) -> bool:
            return isinstance(v, int) and not isinstance(v, bool)

        if not isinstance(value, tuple):
            raise TypeError(f"invalid type of range {value}, must be a tuple")
        if len(value) == 1 and self._single_value:
            if not is_int(value[0]):
                raise TypeError(f"invalid type of single value in range {value}")
        elif len(value) == 2:
            for edge, required, which in ((value[0], self._require_start, "start"),
                                          (value[1], self._require_end, "end")):
                if edge is self.OPEN:
                    if required:
                        raise ValueError(f"range {value} lacks {which} value which is "
                                         "required")
                elif not is_int(edge):
                    raise TypeError(f"invalid type of {which} value in range {value}")
        elif value:
            raise ValueError(f"cannot interpret {value} with {len(value)} elements as "
                             f"{type(self).__name__}")

    def parse(self, x: Any) -> tuple[Any, ...]:
        if _empty(x):
            value: tuple[Any, ...] = ()
        elif isinstance(x, (tuple, list)) or _is_lazy(x):
            value = tuple(x)
        elif isinstance(x, int):
            value = (x,)
        elif isinstance(x, str):
            try:
                value = tuple(int(p) if p else self.OPEN for p in x.split(self.RANGE_SEP))
            except ValueError:
                raise ValueError(f"range '{x}' contains non-integer elements") from None
        else:
            value = (x,)
        self._check(value)
        return value

    def normalize(self, x: Any) -> Any:
        return tuple(x) if isinstance(x, list) else x

    def serialize(self, x: Any) -> str:
        value = x or ()
        self._check(value)
        return self.RANGE_SEP.join("" if v is self.OPEN else str(v) for v in value)


class MultiRangeParameter(RangeParameter):
    """Comma-separated ranges, ``"4:8,12:14"`` -> ``((4, 8), (12, 14))``, each following
    :class:`RangeParameter`'s options."""

    MULTI_RANGE_SEP = ","

    @classmethod
    def expand(cls, ranges: Any, **kwargs: Any) -> list[int]:
        """The sorted integers of all parsed ranges."""
        expand = functools.partial(_util().range_expand, **kwargs)
        return sorted(set().union(*(set(expand(r)) for r in ranges)))

    def parse(self, x: Any) -> tuple[Any, ...]:
        if _empty(x):
            return ()
        if isinstance(x, (tuple, list)) or _is_lazy(x):
            return tuple(super(MultiRangeParameter, self).parse(v) for v in x)
        if isinstance(x, str):
            return tuple(super(MultiRangeParameter, self).parse(part)
                         for part in x.split(self.MULTI_RANGE_SEP))
        return (super().parse(x),)

    def normalize(self, x: Any) -> Any:
        if isinstance(x, list):
            return tuple(tuple(r) if isinstance(r, list) else r for r in x)
        return x

    def serialize(self, x: Any) -> str:
        if not x:
            return ""
        value = tuple(_make_tuple(r) for r in _make_tuple(x))
        return self.MULTI_RANGE_SEP.join(RangeParameter.serialize(self, r) for r in value)


class NotifyParameter(luigi.BoolParameter, Parameter):
    """A boolean that switches a notification transport on for tasks whose ``run`` is
    decorated with :func:`law.decorator.notify`; subclasses return the transport, a dict
    ``{"func": f, "raw": bool, "colored": bool}``, from :meth:`get_transport`."""

    def get_transport(self) -> Any:
        return None


class NotifyMultiParameter(NotifyParameter):
    """Several notification parameters behind one switch."""

    def __init__(self, *args: Any, parameters: Iterable[NotifyParameter] = (),
                 **kwargs: Any) -> None:
        self.parameters = list(parameters)
        super().__init__(*args, **kwargs)

    def get_transport(self) -> Any:
        return [param.get_transport() for param in self.parameters]


class NotifyMailParameter(NotifyParameter):
    """law's e-mail notification switch: with law.decorator.notify on run(), a mail
    through :func:`law.notification.notify_mail` (law-core-notifiers' ``mail``
    notifier), to ``[notifications] mail_recipient``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.description:
            self.description = "when true, and the task's run method is decorated with " \
                "law.decorator.notify, an email notification is sent once the task finishes"

    def get_transport(self) -> Any:
        return {"func": self.notify, "raw": True, "colored": False}

    @classmethod
    def notify(cls, success: bool, title: str, content: Any, **kwargs: Any) -> bool:
        from law.notification import notify_mail

        title, message = cls.format_message(success, title, content)
        return notify_mail(title, message, **kwargs)

    @classmethod
    def format_message(cls, success: bool, title: str, content: Any) -> tuple[str, str]:
        """law's mail layout: ``**Key**: value`` lines, the status first."""
        content = OrderedDict(content)
        content["Status"] = "success" if success else "failure"
        content.move_to_end("Status", last=False)
        if "Traceback" in content:
            content["Traceback"] = f"\n```\n{content['Traceback']}\n```"
        return title, "\n".join(f"**{k}**: {v}" for k, v in content.items())


class NotifyCustomParameter(NotifyParameter):
    """A notification switch whose transport is ``notify_func(title, content, **opts)``;
    without one, the function named by ``[notifications] custom_func``
    (:func:`law.notification.notify_custom`)."""

    def __init__(self, *args: Any, raw: bool = True, notify_func: Any = None,
                 **kwargs: Any) -> None:
        self.raw = raw
        self.notify_func = notify_func
        super().__init__(*args, **kwargs)
        if not self.description:
            self.description = "when true, and the task's run method is decorated with " \
                "law.decorator.notify, a custom notification is sent once the task finishes"

    def get_transport(self) -> Any:
        return {"func": functools.partial(self.notify, notify_func=self.notify_func),
                "raw": self.raw, "colored": False}

    @classmethod
    def notify(cls, success: bool, title: str, content: Any, notify_func: Any = None,
               **kwargs: Any) -> bool:
        from law.notification import notify_custom

        return notify_custom(title, content, notify_func=notify_func, **kwargs)
