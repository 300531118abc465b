"""Tests of law_core.parameters: parsing, serializing, errors and use in real luigi tasks."""

from __future__ import annotations

import datetime

import luigi
import pytest
from luigi.cmdline_parser import CmdlineParser

from law_core.errors import LawCoreError, ParameterError
from law_core.parameters import (
    NO_FLOAT,
    NO_INT,
    NO_STR,
    BytesParameter,
    CSVParameter,
    DurationParameter,
    MultiCSVParameter,
    MultiRangeParameter,
    OptionalBoolParameter,
    RangeParameter,
    TaskInstanceParameter,
    brace_expand,
    expand_ranges,
    get_param,
    is_no_param,
)

OPEN = RangeParameter.OPEN


# --- no-value markers ------------------------------------------------------------------------


def test_no_param_markers():
    assert (NO_STR, NO_INT, NO_FLOAT) == ("NO_STR", -1, -1.0)
    for value in (NO_STR, NO_INT, NO_FLOAT):
        assert is_no_param(value)
    for value in ("", "x", 0, 1, -2, 0.0, None, True, False, (), [-1]):
        assert not is_no_param(value)
    assert get_param(NO_INT) is None
    assert get_param(NO_STR, "fallback") == "fallback"
    assert get_param(5, "fallback") == 5


def test_parameter_error_is_a_value_error():
    with pytest.raises(ValueError):
        RangeParameter().parse("x")
    with pytest.raises(LawCoreError):
        RangeParameter().parse("x")


# --- brace expansion -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abc", ["abc"]),
        ("a{1,2}b", ["a1b", "a2b"]),
        ("{a,b}{1,2}", ["a1", "a2", "b1", "b2"]),
        ("x{a,b{1,2}}", ["xa", "xb1", "xb2"]),
        ("a{,b}", ["a", "ab"]),
        ("a{b}c", ["a{b}c"]),
        ("a{}c", ["a{}c"]),
        ("{x{1,2}}", ["{x1}", "{x2}"]),
    ],
)
def test_brace_expand(text, expected):
    assert brace_expand(text) == expected


def test_brace_expand_split_csv():
    assert brace_expand("x,a{1,2}", split_csv=True) == ["x", "a1", "a2"]
    assert brace_expand("x,a{1,2}") == ["x,a1", "x,a2"]


@pytest.mark.parametrize("text", ["a{1,2", "a}1,2{", "{{a}"])
def test_brace_expand_unbalanced(text):
    with pytest.raises(ParameterError, match="unbalanced braces"):
        brace_expand(text)


# --- CSVParameter ----------------------------------------------------------------------------


def test_csv_parse_and_serialize():
    p = CSVParameter()
    assert p.parse("a,b,c") == ("a", "b", "c")
    assert p.parse(" a , b ") == ("a", "b")
    assert p.parse("a") == ("a",)
    assert p.parse("") == ()
    assert p.parse(NO_STR) == ()
    assert p.serialize(("a", "b", "c")) == "a,b,c"
    assert p.serialize(()) == ""
    assert p.parse(p.serialize(("x", "y"))) == ("x", "y")


def test_csv_inner_class():
    p = CSVParameter(cls=luigi.IntParameter)
    assert p.parse("4,5,6,6") == (4, 5, 6, 6)
    assert p.serialize((7, 8, 9)) == "7,8,9"
    p = CSVParameter(cls=luigi.FloatParameter)
    assert p.parse("1.5,2") == (1.5, 2.0)
    p = CSVParameter(cls=DurationParameter(unit="m"))
    assert p.parse("1h,30s") == (60.0, 0.5)


def test_csv_bad_element():
    with pytest.raises(ParameterError, match=r"invalid element 'x' in '1,x'"):
        CSVParameter(cls=luigi.IntParameter).parse("1,x")


def test_csv_unique_and_sort():
    assert CSVParameter(unique=True).parse("b,a,b,c,a") == ("b", "a", "c")
    assert CSVParameter(sort=True).parse("b,a,b") == ("a", "b", "b")
    assert CSVParameter(unique=True, sort=True).parse("b,a,b") == ("a", "b")
    assert CSVParameter(cls=luigi.IntParameter, sort=True).parse("10,9") == (9, 10)


def test_csv_unsortable():
    with pytest.raises(ParameterError, match="cannot make"):
        CSVParameter(sort=True).normalize([1, "a"])


def test_csv_min_max_len():
    p = CSVParameter(min_len=2, max_len=3)
    assert p.parse("a,b") == ("a", "b")
    assert p.parse("a,b,c") == ("a", "b", "c")
    with pytest.raises(ParameterError, match=r"'a' has 1 value\(s\), expected at least 2"):
        p.parse("a")
    with pytest.raises(ParameterError, match="expected at least 2"):
        p.parse("")
    with pytest.raises(ParameterError, match=r"'a,b,c,d' has 4 value\(s\), expected at most 3"):
        p.parse("a,b,c,d")
    # unique is applied before the length is checked
    with pytest.raises(ParameterError, match="expected at least 2"):
        CSVParameter(unique=True, min_len=2).parse("a,a")


def test_csv_choices():
    p = CSVParameter(choices=("mc", "data"))
    assert p.parse("data,mc") == ("data", "mc")
    with pytest.raises(ParameterError, match=r"invalid value 'sim' in 'mc,sim': expected one of"):
        p.parse("mc,sim")
    p = CSVParameter(cls=luigi.IntParameter, choices=range(3))
    assert p.parse("0,2") == (0, 2)
    with pytest.raises(ParameterError, match="'3'.*expected one of 0, 1, 2"):
        p.parse("1,3")


def test_csv_brace_expand():
    p = CSVParameter(brace_expand=True)
    assert p.parse("a{1,2}b") == ("a1b", "a2b")
    assert p.parse("x,a{1,2}b,y") == ("x", "a1b", "a2b", "y")
    assert CSVParameter(cls=luigi.IntParameter, brace_expand=True).parse("1{2,3,4}9") == (
        129,
        139,
        149,
    )
    # without brace_expand, braces are plain characters and commas always split
    assert CSVParameter().parse("a{1,2}b") == ("a{1", "2}b")
    with pytest.raises(ParameterError, match="unbalanced braces"):
        p.parse("a{1,2")


def test_csv_normalize():
    p = CSVParameter(cls=luigi.IntParameter, unique=True)
    assert p.normalize([1, 2, 2]) == (1, 2)
    assert p.normalize((3,)) == (3,)
    assert p.normalize(5) == (5,)
    assert p.normalize(None) == ()
    assert p.normalize("1,2,1") == (1, 2)
    # normalize is idempotent, luigi calls it more than once
    assert p.normalize(p.normalize("1,2")) == (1, 2)
    assert p.parse([1, 2]) == (1, 2)
    with pytest.raises(ParameterError, match="expected at most 1"):
        CSVParameter(max_len=1).normalize(["a", "b"])


# --- MultiCSVParameter -----------------------------------------------------------------------


def test_multi_csv_parse_and_serialize():
    p = MultiCSVParameter()
    assert p.parse("a,b:c,d") == (("a", "b"), ("c", "d"))
    assert p.parse("a") == (("a",),)
    assert p.parse("a,b:") == (("a", "b"), ())
    assert p.parse("") == ()
    value = (("a", "b"), ("c",))
    assert p.serialize(value) == "a,b:c"
    assert p.parse(p.serialize(value)) == value
    assert p.serialize(()) == ""


def test_multi_csv_options_per_group():
    p = MultiCSVParameter(cls=luigi.IntParameter, unique=True, sort=True)
    assert p.parse("5,4,5:6,6") == ((4, 5), (6,))
    p = MultiCSVParameter(max_len=2)
    with pytest.raises(ParameterError, match=r"'c,d,e' has 3 value\(s\), expected at most 2"):
        p.parse("a,b:c,d,e")
    p = MultiCSVParameter(choices="ab")
    with pytest.raises(ParameterError, match="invalid value 'c' in 'b,c'"):
        p.parse("a:b,c")
    with pytest.raises(ParameterError, match="invalid element 'x'"):
        MultiCSVParameter(cls=luigi.IntParameter).parse("1:x")


def test_multi_csv_brace_expand():
    p = MultiCSVParameter(cls=luigi.IntParameter, brace_expand=True)
    assert p.parse("4,5:6,7,8{8,9}") == ((4, 5), (6, 7, 88, 89))
    assert MultiCSVParameter(brace_expand=True).parse("{a:b,c}") == (("a:b", "c"),)


def test_multi_csv_normalize():
    p = MultiCSVParameter(cls=luigi.IntParameter)
    assert p.normalize([[1, 2], [3]]) == ((1, 2), (3,))
    assert p.normalize(["1,2", "3"]) == ((1, 2), (3,))
    assert p.normalize(None) == ()
    assert p.normalize("1:2") == ((1,), (2,))
    with pytest.raises(ParameterError, match="expected groups"):
        p.normalize(3)


# --- RangeParameter --------------------------------------------------------------------------


def test_open_sentinel_is_none():
    assert OPEN is None


@pytest.mark.parametrize(
    ("text", "expected", "serialized"),
    [
        ("1:5", (1, 5), "1:5"),
        (" 1 : 5 ", (1, 5), "1:5"),
        (":5", (OPEN, 5), ":5"),
        ("3:", (3, OPEN), "3:"),
        (":", (OPEN, OPEN), ":"),
        ("4", (4, 5), "4"),
        ("4:5", (4, 5), "4"),
        ("-3:-1", (-3, -1), "-3:-1"),
    ],
)
def test_range_round_trip(text, expected, serialized):
    p = RangeParameter()
    assert p.parse(text) == expected
    assert p.serialize(expected) == serialized
    assert p.parse(serialized) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "it is empty"),
        ("a:5", "'a' is not an integer"),
        ("1:b", "'b' is not an integer"),
        ("1.5", "'1.5' is not an integer"),
        ("1:2:3", "expected 'start:end'"),
        ("5:3", r"end \(3\) must be greater than start \(5\)"),
        ("5:5", "must be greater"),
    ],
)
def test_range_errors(text, message):
    with pytest.raises(ParameterError, match=message) as info:
        RangeParameter().parse(text)
    assert f"'{text}'" in str(info.value)


def test_range_require_start_end():
    p = RangeParameter(require_start=True, require_end=True)
    assert p.parse("1:5") == (1, 5)
    assert p.parse("7") == (7, 8)
    with pytest.raises(ParameterError, match="a start is required"):
        p.parse(":5")
    with pytest.raises(ParameterError, match="an end is required"):
        p.parse("3:")
    assert RangeParameter(require_end=True).parse(":5") == (OPEN, 5)
    assert RangeParameter(require_start=True).parse("3:") == (3, OPEN)


def test_range_normalize():
    p = RangeParameter()
    assert p.normalize((1, 5)) == (1, 5)
    assert p.normalize([None, 5]) == (OPEN, 5)
    assert p.normalize(3) == (3, 4)
    assert p.normalize("2:") == (2, OPEN)
    for bad in ((1, 2, 3), ("1", 2), (True, 3), 1.5, None):
        with pytest.raises(ParameterError, match="expected a"):
            p.normalize(bad)
    with pytest.raises(ParameterError, match="must be greater"):
        p.normalize((5, 1))


# --- MultiRangeParameter and expand_ranges ---------------------------------------------------


def test_multi_range_round_trip():
    p = MultiRangeParameter()
    value = p.parse("0:10,15,20:")
    assert value == ((0, 10), (15, 16), (20, OPEN))
    assert p.serialize(value) == "0:10,15,20:"
    assert p.parse(p.serialize(value)) == value
    assert p.parse(":3, 7") == ((OPEN, 3), (7, 8))
    assert p.parse("") == ()
    assert p.serialize(()) == ""


def test_multi_range_errors_and_options():
    with pytest.raises(ParameterError, match="invalid range 'x'"):
        MultiRangeParameter().parse("1,x")
    with pytest.raises(ParameterError, match=r"invalid range '': it is empty.*\(in '1,'\)"):
        MultiRangeParameter().parse("1,")
    with pytest.raises(ParameterError, match="an end is required"):
        MultiRangeParameter(require_end=True).parse("1:3,5:")
    with pytest.raises(ParameterError, match="expected e.g."):
        MultiRangeParameter().normalize(5)


def test_multi_range_normalize():
    p = MultiRangeParameter()
    assert p.normalize([(0, 2), 5, (None, None)]) == ((0, 2), (5, 6), (OPEN, OPEN))
    assert p.normalize(None) == ()
    assert p.normalize("1:3") == ((1, 3),)


def test_expand_ranges():
    assert expand_ranges(((0, 3), (2, 5)), 10) == [0, 1, 2, 3, 4]
    assert expand_ranges(((7, 9), (1, 2)), 10) == [1, 7, 8]
    assert expand_ranges((), 10) == []
    assert expand_ranges([3, 1, 3], 10) == [1, 3]


def test_expand_ranges_open_ends():
    assert expand_ranges(((OPEN, 2), (5, OPEN)), 7) == [0, 1, 5, 6]
    assert expand_ranges(((OPEN, OPEN),), 4) == [0, 1, 2, 3]
    assert expand_ranges(MultiRangeParameter().parse("0:2,4,6:"), 8) == [0, 1, 4, 6, 7]
    assert expand_ranges("0:2,4,6:", 8) == [0, 1, 4, 6, 7]
    assert expand_ranges(((3, OPEN),), 0) == []


def test_expand_ranges_clamps_to_bounds():
    assert expand_ranges(((-3, 2),), 10) == [0, 1]
    assert expand_ranges(((8, 20), (30, 40)), 10) == [8, 9]
    assert expand_ranges(((OPEN, 100),), 3) == [0, 1, 2]


def test_expand_ranges_errors():
    for bad in (-1, 2.0, True, None):
        with pytest.raises(ParameterError, match="invalid n_max"):
            expand_ranges(((0, 1),), bad)
    with pytest.raises(ParameterError, match="invalid range"):
        expand_ranges(((0, 1, 2),), 5)


# --- DurationParameter -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        ("1 hour, 30 minutes", 5400.0),
        ("2d", 172800.0),
        ("1.5h", 5400.0),
        (".5m", 30.0),
        ("1w", 604800.0),
        ("250ms", 0.25),
        ("1H30M", 5400.0),
        ("05:10", 310.0),
        ("1:00:05", 3605.0),
        ("", 0.0),
    ],
)
def test_duration_parse_seconds(text, seconds):
    assert DurationParameter().parse(text) == pytest.approx(seconds)


def test_duration_units():
    m = DurationParameter(unit="m")
    assert m.unit == "m"
    assert m.parse("1h30m") == 90.0
    assert m.parse("90") == 90.0
    assert m.parse("90s") == 1.5
    assert DurationParameter(unit="h").parse("1d") == 24.0
    assert DurationParameter(unit="hours").unit == "h"
    assert DurationParameter(unit="d").parse("12h") == 0.5
    with pytest.raises(ParameterError, match="unknown duration unit 'years'"):
        DurationParameter(unit="years")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", ""),
        ("1h30", ""),
        ("-5", ""),
        ("5x", "unknown unit 'x'"),
        ("1.2.3", ""),
        ("h", ""),
        ("1:75", "75 seconds"),
        ("1:75:00", "75 minutes"),
        ("inf", ""),
    ],
)
def test_duration_errors(text, reason):
    with pytest.raises(ParameterError, match="expected a number") as info:
        DurationParameter().parse(text)
    assert f"invalid duration '{text}'" in str(info.value)
    assert reason in str(info.value)


def test_duration_serialize_round_trip():
    s = DurationParameter()
    assert s.serialize(5400.0) == "1h30m"
    assert s.serialize(90061.0) == "1d1h1m1s"
    assert s.serialize(0.0) == "0s"
    assert s.serialize(1.5) == "1.5s"
    m = DurationParameter(unit="m")
    assert m.serialize(90.0) == "1h30m"
    assert m.serialize(0.1) == "6s"
    for unit in ("ms", "s", "m", "h", "d", "w"):
        p = DurationParameter(unit=unit)
        for value in (0.0, 1.0, 0.1, 1 / 3, 2.5, 90.0, 12345.678):
            assert p.parse(p.serialize(value)) == value, (unit, value)


def test_duration_normalize():
    p = DurationParameter(unit="m")
    assert p.normalize(5) == 5.0
    assert isinstance(p.normalize(5), float)
    assert p.normalize("2h") == 120.0
    assert p.normalize(datetime.timedelta(hours=1)) == 60.0
    for bad in (-1, True, None, float("nan"), [1]):
        with pytest.raises(ParameterError, match="invalid duration"):
            p.normalize(bad)


# --- BytesParameter --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "megabytes"),
    [
        ("2GB", 2000.0),
        ("512kB", 0.512),
        ("1.5GiB", 1.5 * 1024**3 / 1e6),
        ("1KiB", 0.001024),
        ("3TB", 3e6),
        ("1000000B", 1.0),
        ("10 bytes", 1e-5),
        ("7", 7.0),
        ("7MB", 7.0),
        ("2gb", 2000.0),
        ("1 MiB", 1.048576),
        ("", 0.0),
    ],
)
def test_bytes_parse(text, megabytes):
    assert BytesParameter().parse(text) == pytest.approx(megabytes)


def test_bytes_units():
    gib = BytesParameter(unit="GiB")
    assert gib.unit == "GiB"
    assert gib.parse("512MiB") == 0.5
    assert gib.parse("2") == 2.0
    assert BytesParameter(unit="B").parse("1kB") == 1000.0
    assert BytesParameter(unit="B").parse("1KiB") == 1024.0
    assert BytesParameter(unit="kb").unit == "kB"
    with pytest.raises(ParameterError, match="unknown size unit 'XB'"):
        BytesParameter(unit="XB")


@pytest.mark.parametrize(
    ("text", "reason"),
    [("abc", ""), ("-2GB", ""), ("2XB", "unknown unit 'XB'"), ("2 G B", ""), ("GB", "")],
)
def test_bytes_errors(text, reason):
    with pytest.raises(ParameterError, match="expected a number") as info:
        BytesParameter().parse(text)
    assert f"invalid size '{text}'" in str(info.value)
    assert reason in str(info.value)


def test_bytes_serialize_and_normalize():
    p = BytesParameter()
    assert p.serialize(2000.0) == "2000MB"
    assert p.serialize(0.512) == "0.512MB"
    for value in (0.0, 1.0, 0.1, 1 / 3, 1610.612736):
        assert p.parse(p.serialize(value)) == value
    assert p.normalize(3) == 3.0
    assert p.normalize("1GB") == 1000.0
    for bad in (-1, False, None, float("inf"), "x"):
        with pytest.raises(ParameterError, match="invalid size"):
            p.normalize(bad)


# --- TaskInstanceParameter and OptionalBoolParameter -----------------------------------------


class _Inner(luigi.Task):
    n = luigi.IntParameter()


class _Outer(luigi.Task):
    task = TaskInstanceParameter()


def test_task_instance_parameter():
    inner = _Inner(n=3)
    outer = _Outer(task=inner)
    assert outer.task is inner
    p = TaskInstanceParameter()
    assert p.serialize(inner) == "_Inner(n=3)"
    assert p.normalize(None) is None
    assert "_Inner(n=3)" in repr(outer)
    assert _Outer(task=_Inner(n=4)).task_id != outer.task_id
    with pytest.raises(ParameterError, match="expected a luigi.Task instance"):
        _Outer(task=5)
    with pytest.raises(ParameterError, match="cannot build a task from the string '_Inner"):
        p.parse("_Inner(n=3)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("True", True),
        ("true", True),
        ("FALSE", False),
        ("False", False),
        ("None", None),
        ("none", None),
        ("", None),
    ],
)
def test_optional_bool_parse(text, expected):
    assert OptionalBoolParameter().parse(text) is expected


def test_optional_bool_serialize_and_errors():
    p = OptionalBoolParameter()
    for value in (True, False, None):
        assert p.parse(p.serialize(value)) is value
    assert p.serialize(None) == "None"
    assert p.normalize("true") is True
    with pytest.raises(ParameterError, match="invalid value 'yes please': expected True, False"):
        p.parse("yes please")
    with pytest.raises(ParameterError, match="expected True, False or None"):
        p.normalize(1)


# --- use in real luigi tasks -----------------------------------------------------------------


class _ParamTask(luigi.Task):
    names = CSVParameter(default=("b", "a"), sort=True)
    numbers = CSVParameter(cls=luigi.IntParameter, default=(), brace_expand=True)
    groups = MultiCSVParameter(default=())
    span = RangeParameter(default=(0, 1))
    branches = MultiRangeParameter(default=())
    walltime = DurationParameter(unit="h", default=1.0)
    memory = BytesParameter(unit="GB", default="2GB")
    flag = OptionalBoolParameter()


def test_task_defaults_are_normalized():
    task = _ParamTask()
    assert task.names == ("a", "b")
    assert task.numbers == ()
    assert task.memory == 2.0
    assert task.walltime == 1.0
    assert task.flag is None
    hash(task)  # every value is hashable


def test_task_from_str_params():
    task = _ParamTask.from_str_params(
        {
            "names": "z,x,y",
            "numbers": "1{0,1},5",
            "groups": "a,b:c",
            "span": "3:",
            "branches": "0:10,15,20:",
            "walltime": "1h30m",
            "memory": "512MiB",
            "flag": "False",
        }
    )
    assert task.names == ("x", "y", "z")
    assert task.numbers == (10, 11, 5)
    assert task.groups == (("a", "b"), ("c",))
    assert task.span == (3, OPEN)
    assert task.branches == ((0, 10), (15, 16), (20, OPEN))
    assert expand_ranges(task.branches, 22) == [*range(10), 15, 20, 21]
    assert task.walltime == 1.5
    assert task.memory == pytest.approx(0.536870912)
    assert task.flag is False
    # to_str_params serializes every value, and the strings rebuild the same task
    params = task.to_str_params()
    assert params["branches"] == "0:10,15,20:"
    assert params["walltime"] == "1h30m"
    assert params["span"] == "3:"
    again = _ParamTask.from_str_params(params)
    assert again.task_id == task.task_id
    assert again.param_kwargs == task.param_kwargs


def test_task_keyword_values_are_normalized():
    task = _ParamTask(names=["q", "p"], branches=[(1, 3), 7], walltime=2, flag="true")
    assert task.names == ("p", "q")
    assert task.branches == ((1, 3), (7, 8))
    assert task.walltime == 2.0
    assert task.flag is True


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"numbers": "1,x"}, "invalid element 'x'"),
        ({"span": "5:2"}, "must be greater"),
        ({"branches": "1:a"}, "'a' is not an integer"),
        ({"walltime": "soon"}, "invalid duration 'soon'"),
        ({"memory": "lots"}, "invalid size 'lots'"),
        ({"flag": "maybe"}, "invalid value 'maybe'"),
    ],
)
def test_task_bad_string_values(params, message):
    with pytest.raises(ParameterError, match=message):
        _ParamTask.from_str_params(params)


def test_task_command_line():
    args = ["_ParamTask", "--branches", "2:4,9", "--walltime", "45m", "--flag"]
    with CmdlineParser.global_instance(args) as parser:
        task = parser.get_task_obj()
    assert task.branches == ((2, 4), (9, 10))
    assert task.walltime == 0.75
    assert task.flag is True
