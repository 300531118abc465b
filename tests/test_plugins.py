"""Plugin discovery through real entry points of pip-installed distributions."""

from __future__ import annotations

import json
import textwrap

import pytest

from law_core.errors import BackendNotFoundError
from law_core.registry import get_registry

UPPER_PLUGIN = """
    from law_core.hookspecs import hookimpl
    from law_core.records import FormatterRecord

    @hookimpl
    def law_core_formatters():
        return [FormatterRecord("upper", "law_core_upper.formatter:Upper",
                                extensions=("upper",))]
"""

UPPER_FORMATTER = """
    from law_core.formatter import Formatter

    class Upper(Formatter):
        name = "upper"

        @classmethod
        def dump(cls, path, obj):
            with open(path, "w") as f:
                f.write(str(obj).upper())

        @classmethod
        def load(cls, path):
            with open(path) as f:
                return f.read()
"""

BROKEN_PLUGIN = """
    import law_core_nonexistent_backend_library  # noqa: F401
"""

CLAIMS_JSON = """
    from law_core.hookspecs import hookimpl
    from law_core.records import FormatterRecord

    @hookimpl
    def law_core_formatters():
        return [FormatterRecord("json", "law_core_json2.plugin:X", extensions=("json",))]
"""


def plugins_json(venv, cwd, **env):
    result = venv.cli(["plugins", "--json"], cwd, **env)
    return result, {p["name"]: p for p in json.loads(result.stdout)["plugins"]}


def test_third_party_plugin_is_discovered_and_used(plugin_venv, tmp_path):
    plugin_venv.install("law-core-upper", "1.2.3", {"upper": "law_core_upper.plugin"}, {
        "law_core_upper.plugin": UPPER_PLUGIN, "law_core_upper.formatter": UPPER_FORMATTER})
    result, plugins = plugins_json(plugin_venv, tmp_path)
    assert result.returncode == 0, result.stderr
    upper = plugins["upper"]
    assert upper["status"] == "loaded"
    assert upper["distribution"] == "law-core-upper"
    assert upper["version"] == "1.2.3"
    assert upper["provides"] == ["formatter: upper"]
    assert plugins["core"]["status"] == "loaded"

    table = plugin_venv.cli(["plugins"], tmp_path).stdout
    assert "law-core-upper" in table and "1.2.3" in table

    used = plugin_venv.python_code("""
        import sys
        from law_core.targets.local import LocalFileTarget
        t = LocalFileTarget("out/shout.upper")
        t.dump("hello")
        print(t.load(), "law_core_upper.formatter" in sys.modules)
    """, tmp_path)
    assert used.returncode == 0, used.stderr
    assert used.stdout.split() == ["HELLO", "True"]


def test_plugin_module_is_not_imported_until_used(plugin_venv, tmp_path):
    plugin_venv.install("law-core-upper", "1.2.3", {"upper": "law_core_upper.plugin"}, {
        "law_core_upper.plugin": UPPER_PLUGIN, "law_core_upper.formatter": UPPER_FORMATTER})
    result = plugin_venv.python_code("""
        import sys
        from law_core.registry import get_registry
        r = get_registry()
        print("law_core_upper.plugin" in sys.modules, "law_core_upper.formatter" in sys.modules)
        r.formatter("upper").load()
        print("law_core_upper.formatter" in sys.modules)
    """, tmp_path)
    assert result.stdout.split() == ["True", "False", "True"], result.stderr


def test_broken_plugin_is_listed_with_its_error_and_breaks_nothing(plugin_venv, tmp_path):
    plugin_venv.install("law-core-broken", "0.1", {"broken": "law_core_broken.plugin"},
                        {"law_core_broken.plugin": BROKEN_PLUGIN})
    result, plugins = plugins_json(plugin_venv, tmp_path)
    assert result.returncode == 0, result.stderr
    assert plugins["broken"]["status"] == "failed"
    assert "law_core_nonexistent_backend_library" in plugins["broken"]["error"]
    assert plugins["core"]["status"] == "loaded"
    table = plugin_venv.cli(["plugins"], tmp_path).stdout
    assert "failed: ModuleNotFoundError" in table

    # the core's own backends still work next to the broken plugin
    used = plugin_venv.python_code("""
        from law_core.targets.local import LocalFileTarget
        t = LocalFileTarget("x.json"); t.dump({"a": 1}); print(t.load()["a"])
    """, tmp_path)
    assert used.stdout.strip() == "1", used.stderr


def test_plugin_exiting_at_import_is_isolated_like_any_failing_plugin(plugin_venv, tmp_path):
    plugin_venv.install("law-core-exits", "0.1", {"exits": "law_core_exits.plugin"},
                        {"law_core_exits.plugin": "import sys\nsys.exit(3)\n"})
    result, plugins = plugins_json(plugin_venv, tmp_path)
    assert result.returncode == 0, result.stderr
    assert plugins["exits"]["status"] == "failed"
    assert plugins["exits"]["error"] == "SystemExit: 3"
    assert plugins["core"]["status"] == "loaded"
    ran = plugin_venv.cli(["config", "target.store"], tmp_path)
    assert ran.returncode == 0 and ran.stdout.strip() == "data", ran.stderr


def test_disabled_plugin_is_not_imported(plugin_venv, tmp_path):
    plugin_venv.install("law-core-broken", "0.1", {"broken": "law_core_broken.plugin"},
                        {"law_core_broken.plugin": BROKEN_PLUGIN})
    result, plugins = plugins_json(plugin_venv, tmp_path, LAW_CORE_DISABLE_PLUGINS="broken,x")
    assert plugins["broken"]["status"] == "disabled"
    assert plugins["broken"]["error"] is None
    table = plugin_venv.cli(["plugins"], tmp_path, LAW_CORE_DISABLE_PLUGINS="broken").stdout
    assert "disabled by LAW_CORE_DISABLE_PLUGINS: broken" in table


def test_two_plugins_claiming_one_name_is_an_error_naming_both(plugin_venv, tmp_path):
    plugin_venv.install("law-core-json2", "2.0", {"json2": "law_core_json2.plugin"},
                        {"law_core_json2.plugin": CLAIMS_JSON})
    result = plugin_venv.cli(["plugins"], tmp_path)
    assert result.returncode == 1
    assert "conflict: the formatter 'json' is claimed by two plugins" in result.stdout
    assert "law-core-json2" in result.stdout and "(distribution law-core)" in result.stdout

    used = plugin_venv.python_code("""
        from law_core.errors import PluginConflictError
        from law_core.registry import get_registry
        try:
            get_registry().formatter("json")
        except PluginConflictError as err:
            print(err)
    """, tmp_path)
    assert "law-core-json2" in used.stdout and "law-core" in used.stdout, used.stderr


def test_two_distributions_with_one_plugin_name_conflict(plugin_venv, tmp_path):
    for dist, package in (("law-core-aa", "law_core_aa"), ("law-core-bb", "law_core_bb")):
        plugin_venv.install(dist, "1.0", {"same": f"{package}.plugin"},
                            {f"{package}.plugin": "X = 1\n"})
    result = plugin_venv.cli(["plugins"], tmp_path)
    assert result.returncode == 1
    assert "two plugins are both named 'same'" in result.stdout
    assert "law-core-aa" in result.stdout and "law-core-bb" in result.stdout


def test_missing_backend_names_the_distribution_and_what_is_installed():
    from law_core.registry import Registry

    # as if only law-core itself were installed
    others = {name for name in get_registry().plugins if name != "core"}
    registry = Registry(disabled=others)
    with pytest.raises(BackendNotFoundError) as info:
        registry.job_manager("slurm")
    message = str(info.value)
    assert "job manager 'slurm'" in message
    assert "pip install law-core-slurm" in message
    assert message.endswith("installed: local")

    with pytest.raises(BackendNotFoundError) as info:
        registry.sandbox("nonsense")
    assert "provides it" not in str(info.value)


def test_core_registers_its_builtins_through_its_own_entry_point():
    registry = get_registry()
    assert registry.plugins["core"].module == "law_core.builtin"
    assert registry.plugins["core"].status == "loaded"
    assert set(registry.formatters()) >= {"text", "json", "pickle", "gzip", "zip", "tar"}
    assert registry.file_system("file").load().__name__ == "LocalFileSystem"
    assert registry.job_manager("local").load().__name__ == "LocalJobManager"


HOOKS_PLUGIN = """
    import json
    import os

    from law_core.hookspecs import hookimpl
    from law_core.records import CliCommandRecord


    def configure(parser):
        parser.add_argument("--name", default="world")


    @hookimpl
    def law_core_cli_commands():
        return [CliCommandRecord("hello", "law_core_hooks.commands:hello", "say hello",
                                 configure=configure)]


    @hookimpl
    def law_core_config_defaults():
        return {"hooks": {"greeting": "hi"}}


    @hookimpl
    def law_core_task_event(event):
        with open(os.environ["EVENTS_FILE"], "a") as f:
            f.write(json.dumps([event.kind, event.task_family]) + "\\n")
"""

HOOKS_COMMANDS = """
    from law_core.config import get_config

    def hello(args):
        print(get_config().get("hooks", "greeting"), args.name)
        return 3
"""


def test_plugin_commands_config_defaults_and_task_events(plugin_venv, tmp_path):
    plugin_venv.install("law-core-hooks", "0.2", {"hooks": "law_core_hooks.plugin"}, {
        "law_core_hooks.plugin": HOOKS_PLUGIN, "law_core_hooks.commands": HOOKS_COMMANDS})
    helped = plugin_venv.cli(["--help"], tmp_path)
    assert "hello" in helped.stdout and "say hello" in helped.stdout
    said = plugin_venv.cli(["hello", "--name", "physicist"], tmp_path)
    assert said.returncode == 3 and said.stdout.strip() == "hi physicist", said.stderr

    (tmp_path / "tasks.py").write_text(textwrap.dedent("""
        import law_core as law

        class Two(law.LocalWorkflow):
            def create_branch_map(self):
                return 2

            def output(self):
                return self.local_target(f"{self.branch}.txt")

            def run(self):
                self.output().dump("x")
    """))
    events = tmp_path / "events.jsonl"
    ran = plugin_venv.cli(["run", "tasks.Two"], tmp_path, EVENTS_FILE=str(events))
    assert ran.returncode == 0, ran.stderr
    seen = [tuple(json.loads(line)) for line in events.read_text().splitlines()]
    assert seen.count(("start", "Two")) == 3  # the workflow and its two branches
    assert seen.count(("success", "Two")) == 3
