"""The conformance suite of formatters (``law_core_formatters`` hook).

A plugin's test module subclasses :class:`FormatterSuite` once per formatter::

    class TestYAMLFormatter(FormatterSuite):
        formatter_name = "yaml"
        extensions = ("yaml", "yml")
        library_module = "yaml"

        def sample(self):
            return {"a": [1, 2, 3]}

        def read_back_natively(self, path):
            import yaml

            with open(path) as f:
                return yaml.safe_load(f)
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest

from law_core.errors import TargetError
from law_core.formatter import Formatter, resolve_formatter
from law_core.records import FormatterRecord
from law_core.registry import get_registry
from law_core.targets.local import LocalFileTarget


class _ForcedDumpFailure(Exception):
    """Raised by the suite's sabotaged ``dump`` after the real one wrote the file."""


def _call_hook(method: Callable[..., Any], directory: Path) -> Any:
    """Call a hook that may or may not take the directory argument."""
    return method(directory) if inspect.signature(method).parameters else method()


def extension_rank(record: FormatterRecord, basename: str) -> tuple[int, int] | None:
    """(length of the longest of the record's extensions that ends ``basename``, priority),
    or None when none does: the documented rule of ``formatter_for_path``, before the
    tie-break on the lexically first name."""
    lengths = [
        len(ext) for ext in record.extensions if basename.lower().endswith("." + ext.lower())
    ]
    return (max(lengths), record.priority) if lengths else None


class FormatterSuite:
    """Base class of a formatter's conformance tests; not collected itself.

    A subclass sets:

    - ``formatter_name``: the name the formatter is registered under (required);
    - ``extensions``: the extensions it is expected to declare, without dots;
    - ``library_module``: the module of the format's library (``"yaml"``), which
      importing the plugin module must not import; None skips that check (for a library
      that the interpreter or the core imports anyway, like ``json``);

    and defines:

    - ``sample()`` or ``sample(directory)``: the object to dump (required); ``directory``
      is an empty directory of its own for input files the sample needs;
    - ``assert_equal(loaded, original)``: compares what ``load`` returned with the
      sample (default ``==``);
    - ``dump_kwargs(directory)`` / ``load_kwargs(directory)``: extra keyword arguments
      for ``dump``/``load`` (default none), e.g. the destination of an archive;
    - ``read_back_natively(path)`` (optional): reads the dumped file with the library's
      own reader and returns what ``assert_equal`` compares with the sample. When it is
      not defined, only the test that uses it is skipped, with a message saying so;
    - ``unserializable()`` or ``unserializable(directory)`` (optional): an object the
      format cannot hold, whose dump must fail and leave nothing behind. Without it, that
      test is skipped; the atomicity of a failing dump is still checked by making the
      formatter's own ``dump`` raise after it wrote the file.
    """

    formatter_name: ClassVar[str] = ""
    extensions: ClassVar[tuple[str, ...]] = ()
    library_module: ClassVar[str | None] = None

    #: optional hook, see the class docstring; None means "not defined"
    read_back_natively: Callable[[str], Any] | None = None
    #: optional hook, see the class docstring; None means "not defined"
    unserializable: Callable[..., Any] | None = None

    def sample(self, directory: Path) -> Any:
        """The object to dump; subclasses must define it."""
        raise NotImplementedError(f"{type(self).__name__} must define sample()")

    def assert_equal(self, loaded: Any, original: Any) -> None:
        """Assert that ``loaded`` is what dumping ``original`` should give back."""
        assert loaded == original

    def dump_kwargs(self, directory: Path) -> dict[str, Any]:
        """Extra keyword arguments for ``dump``."""
        return {}

    def load_kwargs(self, directory: Path) -> dict[str, Any]:
        """Extra keyword arguments for ``load``."""
        return {}

    # helpers

    @pytest.fixture(autouse=True)
    def _law_core_formatter_suite_setup(self, tmp_path: Path) -> None:
        if not self.formatter_name:
            pytest.fail(f"{type(self).__name__} must set formatter_name")
        self._tmp = tmp_path

    def _dir(self, name: str) -> Path:
        path = self._tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _sample(self) -> Any:
        return _call_hook(self.sample, self._dir("input"))

    def _target(self, relpath: str) -> LocalFileTarget:
        return LocalFileTarget(str(self._tmp / "targets" / relpath))

    def _record(self) -> FormatterRecord:
        return get_registry().formatter(self.formatter_name)

    def _first_name(self) -> str:
        return f"sample.{self.extensions[0]}" if self.extensions else "sample"

    def _selecting_extensions(self) -> list[str]:
        """The declared extensions for which extension-based selection picks this one."""
        registry = get_registry()
        return [
            ext for ext in self.extensions
            if registry.formatter_for_path(f"sample.{ext}").name == self.formatter_name
        ]

    def _dump(self, target: LocalFileTarget, obj: Any, by_name: bool = True) -> None:
        name = self.formatter_name if by_name else None
        target.dump(obj, formatter=name, **self.dump_kwargs(self._dir("work")))

    def _load(self, target: LocalFileTarget, by_name: bool = True) -> Any:
        name = self.formatter_name if by_name else None
        return target.load(formatter=name, **self.load_kwargs(self._dir("work")))

    @staticmethod
    def _assert_nothing_left(target: LocalFileTarget) -> None:
        assert not target.exists(), f"a failed dump left {target.path}"
        directory = target.dirname
        leftovers = sorted(os.listdir(directory)) if os.path.isdir(directory) else []
        assert leftovers == [], f"a failed dump left files in {directory}: {leftovers}"

    # tests

    def test_registered(self) -> None:
        """The formatter is registered under its name and its record loads a Formatter."""
        record = self._record()
        assert isinstance(record, FormatterRecord)
        assert record.name == self.formatter_name
        cls = record.load()
        assert isinstance(cls, type) and issubclass(cls, Formatter), (
            f"{record.cls} is not a subclass of law_core.formatter.Formatter"
        )
        assert cls.name == self.formatter_name, (
            f"{record.cls}.name is {cls.name!r}, not {self.formatter_name!r}"
        )

    def test_declares_expected_extensions(self) -> None:
        assert sorted(self._record().extensions) == sorted(self.extensions)

    def test_extensions_select_formatter(self) -> None:
        """Each extension selects this formatter, unless another installed formatter ranks
        higher by the documented rule (longest extension, priority, first name)."""
        registry = get_registry()
        record = self._record()
        for ext in self.extensions:
            for basename in (f"sample.{ext}", f"SAMPLE.{ext.upper()}"):
                chosen = registry.formatter_for_path(f"/some/directory/{basename}")
                if chosen.name == self.formatter_name:
                    continue
                ours, theirs = extension_rank(record, basename), extension_rank(chosen, basename)
                assert ours is not None, f"{record.name} does not claim {basename}"
                assert theirs is not None, (
                    f"{basename} selected {chosen.name}, which claims none of its extensions"
                )
                assert theirs > ours or (theirs == ours and chosen.name < record.name), (
                    f"{basename} selected {chosen.name} (extension length, priority {theirs}) "
                    f"over {record.name} ({ours}) against the documented rule"
                )

    def test_round_trip_by_name(self) -> None:
        original = self._sample()
        target = self._target(f"by-name/{self._first_name()}")
        self._dump(target, original)
        assert target.exists()
        self.assert_equal(self._load(target), original)

    def test_round_trip_by_extension(self) -> None:
        extensions = self._selecting_extensions()
        if not extensions:
            pytest.skip(f"no declared extension selects {self.formatter_name} here")
        cls = self._record().load()
        original = self._sample()
        for ext in extensions:
            target = self._target(f"by-extension/sample.{ext}")
            assert resolve_formatter(target.path) is cls
            self._dump(target, original, by_name=False)
            assert target.exists(), f"dumping to {target.path} wrote nothing"
            self.assert_equal(self._load(target, by_name=False), original)

    def test_read_back_natively(self) -> None:
        """The file written is read by the library's own reader (``read_back_natively``)."""
        if self.read_back_natively is None:
            pytest.skip(f"{type(self).__name__} does not define read_back_natively(path): "
                        f"the file written is not checked with the library's own reader")
        original = self._sample()
        target = self._target(f"native/{self._first_name()}")
        self._dump(target, original)
        self.assert_equal(self.read_back_natively(target.path), original)

    def test_failing_dump_leaves_nothing(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A dump that raises after the file was written leaves neither the file nor a
        temporary one (writes are atomic)."""
        cls = self._record().load()
        real_dump = cls.dump

        def failing_dump(klass: type, path: str, obj: Any, **kwargs: Any) -> None:
            real_dump(path, obj, **kwargs)
            raise _ForcedDumpFailure(f"forced failure after writing {path}")

        monkeypatch.setattr(cls, "dump", classmethod(failing_dump))
        target = self._target(f"forced-failure/{self._first_name()}")
        with pytest.raises(_ForcedDumpFailure):
            self._dump(target, self._sample())
        self._assert_nothing_left(target)

    def test_unserializable_dump_leaves_nothing(self) -> None:
        if self.unserializable is None:
            pytest.skip(f"{type(self).__name__} does not define unserializable()")
        obj = _call_hook(self.unserializable, self._dir("input"))
        target = self._target(f"unserializable/{self._first_name()}")
        with pytest.raises(Exception):  # noqa: B017 - whatever the library raises
            self._dump(target, obj)
        self._assert_nothing_left(target)

    def test_load_missing_file_raises_target_error(self) -> None:
        target = self._target(f"missing/{self._first_name()}")
        with pytest.raises(TargetError):
            self._load(target)
        for ext in self._selecting_extensions():
            with pytest.raises(TargetError):
                self._load(self._target(f"missing/sample.{ext}"), by_name=False)

    def test_plugin_import_does_not_import_library(self) -> None:
        """Discovering the plugin and importing its module leaves the library unimported."""
        if self.library_module is None:
            pytest.skip(f"{type(self).__name__}.library_module is None")
        script = textwrap.dedent(f"""
            import sys
            at_start = {self.library_module!r} in sys.modules
            import importlib, json
            from law_core.registry import get_registry
            registry = get_registry()
            provided = registry._provided_for("formatter")[{self.formatter_name!r}]
            module = registry.plugins[provided.plugin].module
            importlib.import_module(module)
            print(json.dumps({{"plugin": provided.plugin, "module": module, "at_start": at_start,
                              "imported": {self.library_module!r} in sys.modules}}))
        """)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env,
            timeout=120,
        )
        assert proc.returncode == 0, f"the discovery subprocess failed:\n{proc.stderr}"
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert not result["imported"], (
            f"after plugin discovery and importing the plugin module {result['module']} "
            f"(plugin {result['plugin']}), {self.library_module} is imported "
            f"({'already at interpreter start' if result['at_start'] else 'by discovery'}); "
            f"import it inside load()/dump(), or set library_module = None when the "
            f"interpreter or law-core imports it anyway"
        )
