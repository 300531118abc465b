"""The ``law`` command and ``law.config`` of law-core-compat: what law users and their
scripts rely on (config lookup and API, luigi's sections, the index file, exit codes,
completion, contrib loading)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import law
import pytest
from law import config as law_config
from law.contrib import ContribError

LAW = str(Path(sys.executable).parent / "law")

TASKS = textwrap.dedent('''
    import os

    import luigi
    import law


    class Base(law.Task):
        def local_target(self, name):
            return law.LocalFileTarget(os.path.join("$DATA", name))


    class Hello(Base):
        name = luigi.Parameter(default="world")
        shout = luigi.BoolParameter()

        def output(self):
            return self.local_target(f"hello_{self.name}.txt")

        def run(self):
            text = f"hello {self.name}"
            self.output().dump(text.upper() if self.shout else text, formatter="text")


    class Greet(Base):
        def requires(self):
            return Hello.req(self)

        def output(self):
            return self.local_target("greet.txt")

        def run(self):
            self.output().dump("greeted: " + self.input().load(formatter="text"),
                               formatter="text")


    class Broken(Base):
        def output(self):
            return self.local_target("never.txt")

        def run(self):
            raise RuntimeError("broken on purpose")
''')

CONFIG = textwrap.dedent("""
    [modules]
    hello_tasks

    [core]
    index_file: $LAW_HOME/index

    [logging]
    law: INFO

    [target]
    tmp_dir: /tmp
    default_local_fs: local_fs

    [luigi_core]
    local_scheduler: True
    no_lock: True

    [luigi_worker]
    keep_alive: False

    [Hello]
    name: config
""")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A law project as law's examples lay it out: tasks, law.cfg, LAW_HOME, data."""
    (tmp_path / "hello_tasks.py").write_text(TASKS)
    (tmp_path / "law.cfg").write_text(CONFIG)
    # law_core_config() sets LAW_CORE_CONFIG: recorded here (set, then removed), so that
    # it is unset again after the test and no later test's jobs read this test's file
    monkeypatch.setenv("LAW_CORE_CONFIG", "")
    for name in list(os.environ):
        if name.startswith(("LAW_", "LAW__")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("LAW_HOME", str(tmp_path / ".law"))
    monkeypatch.setenv("LAW_CONFIG_FILE", str(tmp_path / "law.cfg"))
    monkeypatch.setenv("DATA", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(law_config.Config, "_instance", None)
    return tmp_path


def law_cmd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([LAW, *args], capture_output=True, text=True, cwd=cwd,
                          stdin=subprocess.DEVNULL, timeout=120)


# law.config


def test_config_file_lookup_order(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$LAW_CONFIG_FILE, else ./law.cfg, else $LAW_HOME/config, as law looks."""
    assert law_config.Config.find_file() == str(project / "law.cfg")
    monkeypatch.delenv("LAW_CONFIG_FILE")
    other = project / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    assert law_config.Config.find_file() is None
    (project / ".law").mkdir()
    (project / ".law" / "config").write_text("[modules]\n")
    assert law_config.Config.find_file() == str(project / ".law" / "config")
    (other / "law.cfg").write_text("[modules]\n")
    assert law_config.Config.find_file() == str(other / "law.cfg")


def test_config_api(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "law.cfg").write_text(CONFIG + textwrap.dedent("""
        [analysis]
        store: $DATA/store
        ref: &::store
        other: &::Hello::name
        nothing: None
        workers: 0x10
        ratio: 0.5
        flag: yes
        files: a.txt, b{1,2}.txt
    """))
    monkeypatch.setenv("LAW__analysis__extra", "from env")
    cfg = law_config.Config.instance()
    assert cfg.config_file == str(project / "law.cfg")
    assert law.config.get_expanded("analysis", "store") == str(project / "data" / "store")
    assert law.config.get_default("analysis", "store") == "$DATA/store"
    assert law.config.get_expanded("analysis", "ref") == str(project / "data" / "store")
    assert law.config.get_expanded("analysis", "other") == "config"
    assert law.config.get_expanded("analysis", "nothing", default="dflt") == "dflt"
    assert law.config.get_expanded("analysis", "missing", default=3) == 3
    assert law.config.get_expanded_int("analysis", "workers") == 16
    assert law.config.get_expanded_float("analysis", "ratio") == 0.5
    assert law.config.get_expanded_bool("analysis", "flag") is True
    assert law.config.get_expanded("analysis", "files", split_csv=True) == \
        ["a.txt", "b1.txt", "b2.txt"]
    assert law.config.is_missing_or_none("analysis", "nothing")
    assert not law.config.is_missing_or_none("analysis", "flag")
    assert law.config.find_option("analysis", "nothing", "ratio") == "ratio"
    assert law.config.get_expanded("analysis", "extra") == "from env"
    assert law.config.has_section("luigi_core") and law.config.has_option("modules",
                                                                            "hello_tasks")
    assert law.config.options("modules") == ["hello_tasks"]
    # law's defaults are there, and index_file follows LAW_HOME
    assert law.config.get_expanded("target", "default_local_fs") == "local_fs"
    assert law.config.get_expanded("core", "index_file") == str(project / ".law" / "index")
    law.config.update({"analysis": {"new": 1}})
    assert law.config.get_expanded_int("analysis", "new") == 1
    with pytest.raises(ValueError):
        law.config.get_expanded_int("analysis", "ratio")


def test_luigi_sections_become_luigis(project: Path) -> None:
    import luigi.configuration

    law_config.Config.instance()
    luigi_config = luigi.configuration.get_config()
    assert luigi_config.get("core", "local_scheduler") == "True"
    assert luigi_config.get("worker", "keep_alive") == "False"


def test_law_core_config_keeps_laws_own_options_away(project: Path) -> None:
    """law's [core]/[target] options, its sandbox sections and [luigi_*] never reach
    law-core's check; modules, task sections, [logging] (law-core's run sets the same
    loggers' levels) and law-core's own options do."""
    import law_core

    (project / "law.cfg").write_text(CONFIG.replace(
        "default_local_fs: local_fs", "default_local_fs: local_fs\nstore: $DATA/store")
        + "\n[docker_sandbox_env]\nFOO = bar\n\n[bash_sandbox_env_setup.sh]\nFOO = baz\n")
    path = law_config.law_core_config()
    assert path == str(project / ".law" / "law-core.cfg")
    assert os.environ["LAW_CORE_CONFIG"] == path
    core = law_core.Config.load(path)
    core.check()  # raises on an option law-core does not know
    assert core.options("modules") == ["hello_tasks"]
    assert core.get("Hello", "name") == "config"
    assert core.get("target", "store") == str(project / "data" / "store")
    assert not core.has("target", "tmp_dir")
    assert "luigi_core" not in core.sections()
    assert not [s for s in core.sections() if "_sandbox" in s]
    assert core.items("logging") == {"law": "INFO"}


def test_user_law_core_config_wins(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAW_CORE_CONFIG", str(project / "mine.cfg"))
    assert law_config.law_core_config() is None
    assert os.environ["LAW_CORE_CONFIG"] == str(project / "mine.cfg")


# law.contrib


def test_contrib_load_installed_plugins() -> None:
    law.contrib.load("numpy", "htcondor", "ipython", "dropbox")
    assert {"numpy", "htcondor"} <= set(law.contrib.loaded_packages())
    assert law.htcondor.HTCondorWorkflow.workflow_type == "htcondor"
    law.contrib.load("docker")
    assert law.docker.DockerSandbox.type == "docker"  # law-core-docker's sandbox


def test_contrib_load_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import law.contrib as contrib

    monkeypatch.setattr(contrib, "_installed", lambda dist: dist != "law-core-slurm")
    with pytest.raises(ContribError, match="pip install law-core-slurm"):
        law.contrib.load("slurm")
    with pytest.raises(ContribError, match="rich progress output.*not yet supported"):
        law.contrib.load("rich")
    with pytest.raises(ContribError, match="no contrib package 'nope'"):
        law.contrib.load("nope")


def test_contrib_names_are_laws() -> None:
    """Every contrib package of law 0.1.21 is either mapped or named unsupported."""
    laws = {"arc", "awkward", "cms", "coffea", "docker", "dropbox", "gfal", "git", "glite",
            "hdf5", "htcondor", "ipython", "keras", "lsf", "matplotlib", "mattermost",
            "mercurial", "numpy", "pandas", "profiling", "pyarrow", "rich", "root",
            "singularity", "slack", "slurm", "tasks", "telegram", "tensorflow", "wlcg"}
    assert set(law.contrib.PROVIDERS) | set(law.contrib.COMPAT_ONLY) | \
        set(law.contrib.UNSUPPORTED) == laws


def test_contrib_tasks_run_once_task() -> None:
    law.contrib.load("tasks")
    task_cls = type("ShowOnce", (law.tasks.RunOnceTask,), {"__module__": __name__,
                                                           "run": lambda self: None})
    task = task_cls()
    assert not task.complete()
    task.mark_complete()
    assert task.complete()
    with pytest.raises(AttributeError, match="CascadeMerge is not yet supported"):
        law.tasks.CascadeMerge  # noqa: B018


# the law command


def test_index_and_run(project: Path) -> None:
    index = law_cmd("index", "--verbose")
    assert index.returncode == 0, index.stderr
    assert index.stdout.splitlines() == [
        "indexing tasks in 1 module(s)",
        "loading module 'hello_tasks', done",
        "",
        "module 'hello_tasks', 3 task(s):",
        "    - Hello",
        "    - Greet",
        "    - Broken",
        "",
        f"written 3 task(s) to index file '{project / '.law' / 'index'}'",
    ]
    lines = (project / ".law" / "index").read_text().splitlines()
    assert [line.split(":")[:2] for line in lines] == \
        [["hello_tasks", "Hello"], ["hello_tasks", "Greet"], ["hello_tasks", "Broken"]]
    assert "name shout" in lines[0]
    # --Family-param reaches the required task; [Hello] name is its config default
    run = law_cmd("run", "Greet", "--Hello-shout", "--log-level", "CRITICAL")
    assert run.returncode == 0, run.stderr
    assert (project / "data" / "greet.txt").read_text() == "greeted: HELLO CONFIG"
    run = law_cmd("run", "Hello", "--name", "you", "--local-scheduler", "True")
    assert run.returncode == 0, run.stderr
    assert (project / "data" / "hello_you.txt").read_text() == "hello you"
    printed = law_cmd("run", "Greet", "--print-output", "1,False")
    assert printed.stdout.splitlines() == [
        "print task output with max_depth 1, hiding schemes", "",
        str(project / "data" / "greet.txt"), str(project / "data" / "hello_config.txt")]


def test_run_exit_codes(project: Path) -> None:
    """law's codes: 40 for a failed task (luigi's retcode as law sets it), 1 when the task
    is not found."""
    assert law_cmd("index", "-q").returncode == 0
    failed = law_cmd("run", "Broken")
    assert failed.returncode == 40
    assert "broken on purpose" in failed.stderr
    unknown = law_cmd("run", "Nope")
    assert unknown.returncode == 1
    assert "task family 'Nope' not found in index" in unknown.stderr
    # MODULE.CLASS needs no index
    assert law_cmd("run", "hello_tasks.Hello", "--name", "direct").returncode == 0


def test_law_config_location_completion(project: Path) -> None:
    sections = law_cmd("config").stdout.splitlines()
    assert {"core", "modules", "luigi_core", "Hello"} <= set(sections)
    assert law_cmd("config", "Hello").stdout.split() == ["name"]
    assert law_cmd("config", "core.index_file").stdout.strip() == "$LAW_HOME/index"
    assert law_cmd("config", "core.index_file", "--expand").stdout.strip() == \
        str(project / ".law" / "index")
    assert law_cmd("config", "--location").stdout.strip() == str(project / "law.cfg")
    assert law_cmd("config", "Hello.name", "other").returncode == 0
    assert "name: config" not in (project / "law.cfg").read_text()
    assert law_cmd("config", "Hello.name").stdout.strip() == "other"
    location = law_cmd("location").stdout.strip()
    assert location == os.path.dirname(law.__file__)
    assert law_cmd("--version").stdout.strip() == "0.1.21"
    luigid = law_cmd("luigid", "--help")
    assert luigid.returncode == 0 and "--background" in luigid.stdout
    assert law_cmd("software").returncode == 1


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script(project: Path, shell: str) -> None:
    """``source "$(law completion)" ""`` as law's setup.sh does, then complete."""
    import shutil

    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    assert law_cmd("index", "-q").returncode == 0
    script = textwrap.dedent(f"""
        source "$({LAW} completion)" ""
        COMP_WORDS=(law run Gr); COMP_CWORD=2; _law_complete; echo "${{COMPREPLY[@]}}"
        COMP_WORDS=(law run Hello --sh); COMP_CWORD=3; _law_complete; echo "${{COMPREPLY[@]}}"
        COMP_WORDS=(law in); COMP_CWORD=1; _law_complete; echo "${{COMPREPLY[@]}}"
    """)
    env = {**os.environ, "HOME": str(project)}  # zsh's compinit writes its dump there
    out = subprocess.run([shell, "-c", script], capture_output=True, text=True, env=env,
                         check=True).stdout.splitlines()
    assert out == ["Greet", "--shout", "index"]
