"""``law.util`` behaves as analyses written for law 0.1.21 rely on.

Two kinds of tests: behaviour an analysis relies on, stated directly, and a comparison with
law 0.1.21 itself (``benchmarks/.venv-law``, made by ``benchmarks/setup_law.sh``) over many
inputs of the functions whose exact output ends up in file names, logs and job
configurations (hashes, brace expansion, sizes, durations, ranges, structures).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import law
import pytest
from law import util

REPO = Path(__file__).resolve().parents[3]
LAW_VENV = REPO / "benchmarks" / ".venv-law"


# --- comparison with law 0.1.21 --------------------------------------------------------------

# Each case is (function, args, kwargs) as python literals; {"__fn__": name} stands for a
# builtin function. Results are compared by repr (generators as lists), errors by "raises".
CASES = [
    *[("create_hash", (inp,), {}) for inp in (
        "foo", "", 123, 1.5, ("a", 1), ["x", 2], {"a": 1, "b": [1, 2]}, None, True,
        "caf\u00e9", "a/b/c.root", "x" * 500)],
    ("create_hash", ("foo",), {"l": 5}),
    ("create_hash", ("foo",), {"l": 64}),
    ("create_hash", ("foo",), {"algo": "md5"}),
    ("create_hash", ("foo",), {"algo": "sha1", "l": 40}),
    ("create_hash", ("foo",), {"to_int": True}),
    ("create_hash", ("foo",), {"l": 3, "to_int": True}),
    *[("brace_expand", (s,), kw) for s in (
        "A{1,2}B", "A{1,2}B{3,4}C", "A{1,2}B,C{3,4}D", "A{1,2}B,C{3}D,E{4,5}F", "plain",
        "", "{a,b}", "{a}", "A{}B", "{,a}", "a,b,c", "{a,{b,c}}", "x{a,b}y}z", "x{a{b,c}d",
        "A\\{1,2\\}B", "A\\{1,2}B", "A{1,2\\}B", "a\\,b,c", "{a\\,b,c}", "a\\,b", "a,,b",
        "a{1,2}b\\,c,d{3,4}", "A{1,2}B{x,y},C") for kw in (
            {}, {"split_csv": True}, {"split_csv": True, "escape_csv_sep": False})],
    *[("human_bytes", (n,), kw) for n in (
        0, 1, 512, 1023, 1024, 1536, 3407872, -2048, 1.5 * 1024 ** 3, 5 * 1024 ** 6)
      for kw in ({}, {"fmt": True}, {"fmt": "{:.3f}--{}"})],
    ("human_bytes", (3407872,), {"unit": "kB"}),
    ("human_bytes", (3407872,), {"unit": "bytes"}),
    ("human_bytes", (0,), {"unit": "MB"}),
    ("human_bytes", (100,), {"unit": "GB", "fmt": True}),
    ("human_bytes", (100,), {"unit": "mb"}),
    *[("parse_bytes", (s,), kw) for s in (
        "100", "2048 kB", "2048kb", " 1.5 GB ", "3 MB", "1 KB", "-1 kb", "7 bytes", "2.",
        "abc", "1 kib", "1 tb", 2048, 2.5) for kw in (
            {}, {"unit": "kB"}, {"input_unit": "kB", "unit": "MB"}, {"input_unit": "foo"})],
    *[("human_duration", (), dict(kw, **extra)) for kw in (
        {"seconds": 0}, {"seconds": 1}, {"seconds": 1.5}, {"seconds": 59.999},
        {"seconds": 1233}, {"seconds": -1233}, {"seconds": 90001}, {"seconds": 3600},
        {"minutes": 15}, {"minutes": -15}, {"hours": 49, "seconds": 5.25},
        {"milliseconds": 1500}, {"days": 3}, {"weeks": 2, "seconds": 61}) for extra in (
            {}, {"plural": False}, {"colon_format": True}, {"colon_format": "h"},
            {"colon_format": "m"}, {"colon_format": "s"}, {"colon_format": "d"},
            {"colon_format": "minutes"})],
    ("human_duration", (), {"seconds": 5, "colon_format": "x"}),
    *[("parse_duration", (s,), kw) for s in (
        100, -100, 1.5, "100", "2:1", "04:02:01.1", "0-4:2:1.1", "1-00:00:00", "+5:00",
        "-5:00", "10 mins", "10 mins, 15 secs", "10 mins and 15 secs", "minus 10 mins",
        "plus 1h", "-2 days, 3 hours", "1w", "1.5h", ".5 min", "3 d 4 h", "10", " 7 s ",
        "1 hour,,2 min", "soon", "1 Min", "1e3") for kw in (
            {}, {"unit": "min"}, {"input_unit": "min"}, {"input_unit": "h", "unit": "d"},
            {"unit": "lightyear"})],
    *[("range_expand", (s,), kw) for s in (
        "5:8", (6, 9), "5", ["5:8", "10"], ["5:8", "10:"], [":3", "8:"], "8:5", ["1", "1:3"],
        [(1,), (2, 4)], "a:b", (1, 2, 3), ["3-5"]) for kw in (
            {}, {"include_end": True}, {"min_value": 2, "max_value": 12},
            {"min_value": 2, "max_value": 12, "include_end": True}, {"sep": "-",
                                                                    "max_value": 9})],
    *[("range_join", (nums,), kw) for nums in (
        [1, 2, 3, 5], [1, 2, 3, 5, 7, 8, 9], [9, 1, 2, 2, "3"], [], [4], ["x"], [1.5])
      for kw in ({}, {"include_end": True}, {"to_str": True},
                 {"to_str": True, "include_end": True, "sep": ";", "range_sep": "-"})],
    *[("flatten", args, kw) for args in (
        ({"a": [1, (2, 3)], "b": {"c": {4}}},), (1, [2, [3, [4]]], "ab"), (), ([],),
        ({"x": 1},), ([(1, 2), {3: 4}],)) for kw in (
            {}, {"flatten_dict": False}, {"flatten_tuple": False}, {"flatten_list": False})],
    *[(fn, (obj,), kw) for fn in ("make_list", "make_tuple", "make_set")
      for obj in ([1, 2], (1, 2), {1}, "ab", 3, None, {"a": 1})
      for kw in ({}, {"cast": False})],
    *[("make_unique", (obj,), {}) for obj in (
        [3, 1, 3, 2, 1], (3, 1, 3), "abca", [1, True, 1.0], 5, [])],
    ("merge_dicts", ({"foo": 1, "bar": {"a": 1, "b": 2}}, {"bar": {"c": 3}}), {}),
    ("merge_dicts", ({"foo": 1, "bar": {"a": 1, "b": 2}}, {"bar": {"c": 3}}), {"deep": True}),
    ("merge_dicts", ({"foo": 1, "bar": {"a": 1}}, {"bar": 2}, {"baz": 3}), {"deep": True}),
    ("merge_dicts", (None, {"a": 1}, 5, {"a": 2, "b": 3}), {}),
    ("merge_dicts", (1, 2), {}),
    ("merge_dicts", (), {}),
    *[("multi_match", (name, pats), kw) for name in ("task_a", "TaskB", "^x$") for pats in (
        "task_*", ["task_*", "Task?"], ["!task_*"], ["^Task.*$"], ["*", "!*B"], [], "^x$")
      for kw in ({}, {"mode": {"__fn__": "all"}}, {"regex": True}, {"regex": False},
                 {"skip_negation": True})],
    ("mask_struct", ({"a": [False, True], "b": False}, {"a": [1, 2], "b": [3, ["f", "b"]]}),
     {}),
    ("mask_struct", ({"a": [False, True]}, {"a": [1, 2], "b": [3, ["f", "b"]]}), {}),
    ("mask_struct", ({"a": [False, True]}, {"a": [1, 2], "b": 3}), {"keep_missing": False}),
    ("mask_struct", ({"a": [False, True], "b": False}, {"a": [1, 2], "b": 3}), {"replace": 0}),
    ("mask_struct", ([True, [False, True]], [1, [2, 3], 4]), {}),
    ("mask_struct", ([True, False], {"a": 1}), {}),
    ("map_struct", ({"__fn__": "str"}, {"a": [1, (2, 3)], "b": {"c": {4}}}), {}),
    ("map_struct", ({"__fn__": "str"}, {"a": [1, (2, 3)], "b": {"c": {4}}}),
     {"map_tuple": True, "map_set": True}),
    ("map_struct", ({"__fn__": "str"}, {"a": {"b": {"c": 1}}}), {"map_dict": 1}),
    ("map_struct", ({"__fn__": "str"}, {"a": {"b": {"c": 1}}}), {"map_dict": 2}),
    ("map_struct", ({"__fn__": "str"}, [1, [2]]), {"cls": {"__fn__": "list"}}),
    ("map_struct", ({"__fn__": "str"}, 7), {"cls": {"__fn__": "int"}}),
    *[("iter_chunks", (obj, size), {}) for obj in (7, [1, 2, 3, 4, 5], "abcdef", (1, 2))
      for size in (0, 1, 2, 3, 10)],
    *[("chunk_slice_ranges", ([10, 10, 10], start, stop), {}) for start, stop in (
        (5, 15), (15, 25), (5, -5), (0, 30), (None, None), (10, 10), (20, 40))],
    ("unzip", ([(1, 2), (3, 4)],), {}),
    ("unzip", ([(1, 2), (3,)],), {}),
    ("unzip", ([(1, 2), (3,)],), {"fill_none": True}),
    *[("colored", ("msg",), dict(kw, force=True)) for kw in (
        {}, {"color": "red"}, {"color": "light_blue", "background": "dark_gray"},
        {"style": "bright"}, {"style": ["bright", "underlined"]}, {"color": "nope"},
        {"color": "cyan", "background": "white", "style": ("blink", "nope")})],
    ("uncolored", ("\x1b[1;49;31mred\x1b[0m and \x1b[4mplain\x1b[0m",), {}),
    *[("quote_cmd", (cmd,), {}) for cmd in (
        ["bash", "-c", "echo", "foobar"], ["bash", "-c", ["echo", "foo bar"]],
        ["a'b", 'c"d', "$HOME", 1], [])],
    *[("escape_markdown", (s,), {}) for s in ("a_b-c.d(e)=f", "already\\_escaped", "")],
    *[("flag_to_bool", (s,), kw) for s in ("True", "on", "N", "0", True, "maybe", 1)
      for kw in ({}, {"silent": True})],
    *[("str_to_int", (s,), {}) for s in ("0o0660", "0x10", "0b101", "17", "0d9", 12)],
    *[("try_int", (n,), {}) for n in (2.0, 2.5, 3, -1.0)],
    *[("round_discrete", (17,) + args, {}) for args in (
        (5,), (2.5,), (2.5, "floor"), (2.5, "ceil"), (2.5, "up"))],
    *[("is_pattern", (s,), {}) for s in ("a*", "a?", "abc")],
    *[("is_number", (n,), {}) for n in (1, 1.5, True, "1")],
    *[("is_float", (n,), {}) for n in ("1e3", "x", None, 2)],
    *[("is_nested", (obj,), {}) for obj in ([[1], (2,)], [[1], 2], (), "ab")],
    *[("human_duration", (), {"seconds": s, "colon_format": True}) for s in (
        0.004, 0.005, 9.99, 10, 86399.995)],
]

COMPARE_SCRIPT = textwrap.dedent("""
    import ast, builtins, json, sys, types
    import law.util

    def resolve(obj):
        if isinstance(obj, dict) and set(obj) == {"__fn__"}:
            return getattr(builtins, obj["__fn__"])
        if isinstance(obj, dict):
            return {k: resolve(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(resolve(v) for v in obj)
        return obj

    out = []
    for line in sys.stdin:
        fn, args, kwargs = ast.literal_eval(line)
        try:
            res = getattr(law.util, fn)(*resolve(args), **resolve(kwargs))
            if isinstance(res, types.GeneratorType):
                res = list(res)
            if isinstance(res, set):
                res = sorted(res, key=repr)
            out.append(repr(res))
        except Exception:
            out.append("raises")
    json.dump(out, sys.stdout)
""")


@pytest.fixture(scope="module")
def law_python() -> Path:
    """The interpreter of a venv with law 0.1.21, set up by benchmarks/setup_law.sh."""
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "setup_law.sh")],
                            capture_output=True, text=True, check=False)
    python = LAW_VENV / "bin" / "python"
    if result.returncode != 0 or not python.exists():
        pytest.fail("these tests compare with law 0.1.21 and need its venv: "
                    f"'bash benchmarks/setup_law.sh' failed (exit code {result.returncode}):\n"
                    f"{result.stdout}{result.stderr}")
    return python


def run_cases(python: Path | str, cases: list) -> list[str]:
    result = subprocess.run([str(python), "-c", COMPARE_SCRIPT],
                            input="".join(repr(case) + "\n" for case in cases),
                            capture_output=True, text=True, check=False, cwd="/")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_same_results_as_law_0_1_21(law_python: Path) -> None:
    ours = run_cases(sys.executable, CASES)
    theirs = run_cases(law_python, CASES)
    differences = [f"{fn}(*{args!r}, **{kwargs!r}): law {t} vs compat {o}"
                   for (fn, args, kwargs), o, t in zip(CASES, ours, theirs) if o != t]
    assert not differences, "\n".join(differences)


def test_the_comparison_reaches_law_0_1_21(law_python: Path) -> None:
    # guards the test above against comparing our package with itself
    result = subprocess.run([str(law_python), "-c", "import law; print(law.__file__, "
                             "law.__version__)"], capture_output=True, text=True, check=True)
    path, version = result.stdout.split()
    assert version == "0.1.21" and str(LAW_VENV) in path


def test_same_names_as_law_0_1_21(law_python: Path) -> None:
    result = subprocess.run([str(law_python), "-c", "import law.util, json; "
                             "print(json.dumps(law.util.__all__))"],
                            capture_output=True, text=True, check=True)
    assert sorted(util.__all__) == sorted(json.loads(result.stdout))
    for name in util.__all__:
        assert hasattr(util, name), name


# --- behaviour analyses rely on --------------------------------------------------------------


def test_law_util_is_reachable_from_law() -> None:
    assert law.util is util
    assert law.no_value is util.no_value


def test_flatten_collects_the_leaves_of_outputs() -> None:
    outputs = {"data": ["a", "b"], "meta": {"log": "c", "plots": ("d", ["e"])}, "n": {"f"}}
    assert util.flatten(outputs) == ["a", "b", "c", "d", "e", "f"]
    assert util.flatten(1, [2, [3]], (x for x in (4, 5))) == [1, 2, 3, 4, 5]
    assert util.flatten({"a": {"b": 1}}, flatten_dict=False) == [{"a": {"b": 1}}]
    assert util.flatten([(1, 2), 3], flatten_tuple=False) == [(1, 2), 3]
    assert util.flatten() == []
    assert util.flatten("abc") == ["abc"]


def test_make_list_tuple_set() -> None:
    assert util.make_list((1, 2)) == [1, 2]
    assert sorted(util.make_list({3, 1})) == [1, 3]
    assert util.make_list((1, 2), cast=False) == [(1, 2)]
    assert util.make_list("ab") == ["ab"]
    assert util.make_list({"k": 1}) == [{"k": 1}]
    assert util.make_list(range(3)) == [0, 1, 2]
    original = [1]
    assert util.make_list(original) is not original
    assert util.make_tuple([1, 2]) == (1, 2)
    assert util.make_tuple("ab") == ("ab",)
    assert util.make_set([1, 1, 2]) == {1, 2}
    assert util.make_set((1, 2), cast=False) == {(1, 2)}
    assert util.make_unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    assert util.make_unique((3, 1, 3)) == (3, 1)
    with pytest.raises(TypeError):
        util.make_unique(5)


def test_brace_expand() -> None:
    assert util.brace_expand("data_{2016,2017}_{a,b}") == [
        "data_2016_a", "data_2016_b", "data_2017_a", "data_2017_b"]
    assert util.brace_expand("A{1,2}B,C{3}D", split_csv=True) == ["A1B", "A2B", "C3D"]
    assert util.brace_expand("A{1,2}B,C{3}D") == ["A1B,C3D", "A2B,C3D"]
    assert util.brace_expand(r"A\{1,2\}B") == [r"A\{1,2\}B"]
    assert util.brace_expand(r"x\,y,z", split_csv=True) == ["x,y", "z"]
    assert util.brace_expand(r"x\,y,z", split_csv=True, escape_csv_sep=False) == [
        "x\\", "y", "z"]
    assert util.brace_expand("plain") == ["plain"]


def test_bytes_round_trip() -> None:
    for n in (1, 1000, 1024, 3407872, 5 * 1024 ** 4):
        value, unit = util.human_bytes(n)
        assert util.parse_bytes(f"{value} {unit}") == pytest.approx(n)
    assert util.human_bytes(3407872) == (3.25, "MB")
    assert util.human_bytes(3407872, "kB") == (3328.0, "kB")
    assert util.human_bytes(3407872, fmt=True) == "3.2 MB"
    assert util.human_bytes(100, fmt=True) == "100 bytes"
    assert util.human_bytes(0.5) == (0, "bytes")
    assert util.parse_bytes("2048", "kB", unit="MB") == 2.0
    assert util.parse_bytes("2 gb", unit="mb") == 2048.0
    with pytest.raises(ValueError, match="cannot parse bytes"):
        util.parse_bytes("two MB")
    with pytest.raises(ValueError, match="unknown unit"):
        util.human_bytes(1, "KiB")


def test_duration_round_trip() -> None:
    for seconds in (0, 1, 59, 61, 3599, 3600, 90001, 1233.5, 7 * 86400 + 5):
        for colon in (False, True, "h", "m"):
            text = util.human_duration(seconds=seconds, colon_format=colon)
            assert util.parse_duration(text) == pytest.approx(seconds), text
    assert util.human_duration(seconds=90001) == "1 day, 1 hour, 1 second"
    assert util.human_duration(seconds=1233, colon_format=True) == "20:33"
    assert util.human_duration(seconds=90001, colon_format="h") == "25:00:01"
    assert util.human_duration(seconds=65, colon_format="s") == "00:65"
    assert util.human_duration(minutes=-15) == "minus 15 minutes"
    assert util.human_duration(minutes=15, plural=False) == "15 minute"
    assert util.parse_duration("10 mins and 15 secs") == 615.0
    assert util.parse_duration("minus 10 mins, 15 secs") == -615.0
    assert util.parse_duration(100, unit="min") == pytest.approx(100 / 60)
    assert util.parse_duration("10", input_unit="min", unit="min") == 10.0
    assert util.parse_duration("0-4:2:1.1") == pytest.approx(14521.1)
    with pytest.raises(ValueError, match="cannot parse duration"):
        util.parse_duration("a while")
    with pytest.raises(ValueError, match="unknown unit"):
        util.parse_duration("1", unit="fortnight")


def test_ranges() -> None:
    assert util.range_expand(["5:8", "10"]) == [5, 6, 7, 10]
    assert util.range_expand(["5:8", "10:"], max_value=12, include_end=True) == [
        5, 6, 7, 8, 10, 11, 12]
    with pytest.raises(Exception, match="max_value"):
        util.range_expand("10:")
    assert util.range_join([1, 2, 3, 5, 7, 8, 9]) == [(1, 4), (5,), (7, 10)]
    assert util.range_join([1, 2, 3, 5], to_str=True, include_end=True) == "1:3,5"
    numbers = [0, 1, 2, 5, 8, 9]
    assert util.range_expand(util.range_join(numbers, to_str=True).split(",")) == numbers


def test_insertable_dict() -> None:
    d = util.InsertableDict(foo=123, bar=456)
    d.insert_before("bar", "test", 999)
    assert list(d.items()) == [("foo", 123), ("test", 999), ("bar", 456)]
    d.insert_after("test", "foo", "new")
    assert list(d.items()) == [("test", 999), ("foo", "new"), ("bar", 456)]
    d.append("test")
    assert list(d.items()) == [("foo", "new"), ("bar", 456), ("test", 999)]
    d.prepend("bar")
    assert list(d) == ["bar", "foo", "test"]
    d.insert_before("test", {"x": 1, "y": 2})
    assert list(d) == ["bar", "foo", "x", "y", "test"]
    d.insert_after("foo", [("z", 3)], util.no_value)
    assert list(d) == ["bar", "foo", "z", "x", "y", "test"]
    d.insert_before("missing", "w", 0)
    assert list(d)[-1] == "w"
    # law's insert_after defaults value to None, so a lone key is inserted with None
    d.insert_after("bar", "v")
    assert list(d)[:2] == ["bar", "v"] and d["v"] is None


def test_multi_match() -> None:
    assert util.multi_match("task_a", ["task_*", "other"])
    assert not util.multi_match("task_a", ["task_*", "other"], mode=all)
    assert util.multi_match("task_a", "!other*")
    assert not util.multi_match("task_a", ["!task_*"])
    assert util.multi_match("!task", ["!task"], skip_negation=True)
    assert util.multi_match("TaskB", "^Task[AB]$")  # regex chosen by ^...$
    assert not util.multi_match("TaskB", "^Task[AB]$", regex=False)
    assert util.multi_match("TaskB", "Task", regex=True)  # re.match anchors at the start only


def test_merge_dicts() -> None:
    a = {"foo": 1, "bar": {"a": 1}}
    assert util.merge_dicts(a, {"bar": {"b": 2}}) == {"foo": 1, "bar": {"b": 2}}
    assert util.merge_dicts(a, {"bar": {"b": 2}}, deep=True) == {
        "foo": 1, "bar": {"a": 1, "b": 2}}
    assert a == {"foo": 1, "bar": {"a": 1}}
    merged = util.merge_dicts(a, {"x": 0}, inplace=True)
    assert merged is a and a["x"] == 0
    assert type(util.merge_dicts(util.DotDict(a=1), {"b": 2})) is util.DotDict
    with pytest.raises(ValueError):
        util.merge_dicts()


def test_colored_only_on_a_terminal() -> None:
    # law 0.1.21 returns the message unchanged when stdout is no tty (a pipe, a log file)
    code = "import law; print(repr(law.util.colored('hi', 'red', style='bright')))"
    piped = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)
    assert piped.stdout.strip() == "'hi'"
    assert util.colored("hi", "red", style="bright", force=True) == "\x1b[1;49;31mhi\x1b[0m"
    random_colored = util.colored("hi", color="random", background="random", style="random",
                                  force=True)
    assert util.uncolored(random_colored) == "hi" and random_colored != "hi"


def test_colored_on_a_tty() -> None:
    import pty

    code = "import law; print(repr(law.util.colored('hi', 'green')))"
    main, secondary = pty.openpty()
    try:
        subprocess.run([sys.executable, "-c", code], stdout=secondary, check=True)
        output = os.read(main, 1024).decode()
    finally:
        os.close(main)
        os.close(secondary)
    assert "\\x1b[0;49;32mhi\\x1b[0m" in output


def test_create_hash_is_stable() -> None:
    # values computed with law 0.1.21; they name output directories of existing analyses
    assert util.create_hash("foo") == "2c26b46b68"
    assert util.create_hash(("a", 1), l=6) == util.create_hash("('a', 1)", l=6)
    assert util.create_hash("foo", to_int=True) == int("2c26b46b68", 16)


def test_no_value() -> None:
    assert not util.no_value
    assert util.NoValue() is util.no_value
    assert repr(util.no_value) == "law.util.no_value" and str(util.no_value) == "no_value"
    import pickle

    assert pickle.loads(pickle.dumps(util.no_value)) is util.no_value


def test_dot_and_shorthand_dicts() -> None:
    d = util.DotDict.wrap({"a": {"b": 1}})
    assert d.a.b == 1
    d.c = 2
    assert d["c"] == 2
    with pytest.raises(AttributeError):
        _ = d.missing

    class Opts(util.ShorthandDict):
        attributes = {"files": [], "n": 1}

    first, second = Opts(n=3), Opts()
    first.files.append("x")
    assert first.n == 3 and second.files == [] and second.n == 1
    second.n = 5
    assert second["n"] == 5
    assert first.copy() == first


def test_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert util.law_src_path() == str(Path(law.__file__).parent)
    assert util.law_src_path("cli") == str(Path(law.__file__).parent / "cli")
    monkeypatch.setenv("LAW_HOME", str(tmp_path / "home"))
    assert util.law_home_path("index") == str(tmp_path / "home" / "index")
    monkeypatch.delenv("LAW_HOME")
    assert util.law_home_path() == os.path.expanduser("~/.law")
    anchor = tmp_path / "file.txt"
    anchor.write_text("")
    assert util.rel_path(anchor, "sub", "x") == str(tmp_path / "sub" / "x")
    assert util.rel_path(tmp_path, "..") == str(tmp_path.parent)


def test_files(tmp_path: Path) -> None:
    with util.tmp_file(dir=tmp_path, suffix=".txt") as (fd, path):
        assert Path(path).is_file() and path.endswith(".txt")
        os.close(fd)
    assert not Path(path).exists()
    target = tmp_path / "a" / "b"
    util.makedirs(target, perm=0o750)
    util.makedirs(target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    (tmp_path / "out.txt").write_text("")
    assert util.increment_path(tmp_path / "out.txt") == str(tmp_path / "out_1.txt")
    assert util.increment_path(tmp_path / "out_4.txt", n=2) == str(tmp_path / "out_6.txt")
    assert util.which("sh") and util.which("no-such-program-xyz") is None


def test_processes() -> None:
    code, out, err = util.interruptable_popen(
        ["sh", "-c", "echo out; echo err >&2; exit 3"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    assert (code, out, err) == (3, "out\n", "err\n")
    code, out, _ = util.interruptable_popen(["cat"], stdout=subprocess.PIPE,
                                            stdin_callback=lambda: "fed")
    assert (code, out) == (0, "fed\n")
    process, lines = util.readable_popen(["sh", "-c", "echo a; echo b >&2; exit 2"])
    assert list(lines) == ["a", "b"] and process.returncode == 2


def test_iter_chunks_and_map_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(util.iter_chunks(5, 2)) == [[0, 1], [2, 3], [4]]
    assert list(util.iter_chunks([1, 2, 3], 2)) == [[1, 2], [3]]
    assert util.map_verbose(lambda x: x * x, range(7), "step {}", every=3) == [
        0, 1, 4, 9, 16, 25, 36]
    assert capsys.readouterr().out.split("\n")[:-1] == [
        "step 0", "step 2", "step 5", "step 6"]


def test_map_and_mask_struct() -> None:
    struct = {"foo": [123, 456], "bar": [{"1": 1}, {"2": 2}]}
    assert util.map_struct(lambda i: i * 2, struct) == {
        "foo": [246, 912], "bar": [{"1": 2}, {"2": 4}]}
    assert util.mask_struct({"a": [False, True], "b": False},
                            {"a": [1, 2], "b": [3, ["x"]]}) == {"a": [2]}


def test_abort_and_print_err() -> None:
    code = "import law; law.util.print_err('e1', 2); law.util.abort('bad', exitcode=4)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 4 and result.stderr == "e1 2\nbad\n" and result.stdout == ""
    ok = subprocess.run([sys.executable, "-c", "import law; law.util.abort('done', 0)"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and ok.stdout == "done\n"


def test_small_helpers() -> None:
    assert util.flag_to_bool("Yes") is True and util.flag_to_bool("off") is False
    assert util.flag_to_bool("maybe", silent=True) is None
    with pytest.raises(ValueError):
        util.flag_to_bool("maybe")
    assert util.try_int(2.0) == 2 and isinstance(util.try_int(2.0), int)
    assert util.quote_cmd(["bash", "-c", ["echo", "foobar"]]) == "bash -c 'echo foobar'"
    assert util.is_lazy_iterable({}.keys()) and not util.is_lazy_iterable([])
    assert len(util.create_random_string(l=12)) == 12
    assert util.create_random_string("job", 4).startswith("job_")

    class A:
        @classmethod
        def cm(cls) -> None: ...

        def im(self) -> None: ...

    assert util.is_classmethod(A.cm, A) and not util.is_classmethod(A.im, A)

    class B:
        @util.classproperty
        def name(cls) -> str:
            return cls.__name__

    assert B.name == "B"

    with util.patch_object(os, "sep", "#"):
        assert os.sep == "#"
    assert os.sep == "/"


def test_law_run_runs_a_task_from_a_command_line(tmp_path: Path) -> None:
    script = tmp_path / "run_hello.py"
    script.write_text(textwrap.dedent("""
        import luigi
        import law

        class Hello(luigi.Task):
            n = luigi.IntParameter(default=1)

            def run(self):
                print("ran with", self.n)

            def complete(self):
                return False

        print("result", law.util.law_run("Hello --n 3 --local-scheduler"))
        print("result", law.run(["Hello", "--n", 4, "--local-scheduler"]))
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ran", "result"))]
    assert lines == ["ran with 3", "result True", "ran with 4", "result True"]


def test_kill_process_ends_the_process_tree() -> None:
    # without psutil (not installed here) the children come from ps
    process = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    try:
        deadline = util.perf_counter() + 10
        children: list[int] = []
        while len(children) < 2 and util.perf_counter() < deadline:
            children = util.get_subprocess_pids(process.pid, recursive=True, use_psutil=False)
            time.sleep(0.05)
        assert len(children) == 2
        util.kill_process(process, kill_timeout=5)
        assert process.wait(timeout=5) == -15

        def running(pid: int) -> bool:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                return False
            return state != "Z"

        deadline = util.perf_counter() + 5
        while any(running(pid) for pid in children) and util.perf_counter() < deadline:
            time.sleep(0.05)
        assert not any(running(pid) for pid in children)
    finally:
        process.kill()


def test_flatten_descends_into_lazy_mappings_like_dicts() -> None:
    """A workflow collection's ``targets`` is a lazy Mapping in law-core, a dict in law:
    ``law.util.flatten(coll.targets)`` gives the targets either way."""
    import collections.abc

    class Lazy(collections.abc.Mapping):
        def __getitem__(self, key):
            return f"target{key}"

        def __iter__(self):
            return iter(range(3))

        def __len__(self):
            return 3

    assert law.util.flatten(Lazy()) == ["target0", "target1", "target2"]
    assert law.util.flatten({"collection": Lazy()}, 4) == ["target0", "target1", "target2", 4]
