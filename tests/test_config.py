"""Config lookup, precedence, errors, and ``law-core config``."""

from __future__ import annotations

import pytest

from law_core.config import Config, get_config
from law_core.errors import ConfigError
from law_core.testing.cli import run_cli


def test_lookup_order_env_file_then_cwd_then_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".config" / "law-core").mkdir(parents=True)
    (home / ".config" / "law-core" / "law.cfg").write_text("[a]\nwhere = home\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    assert Config.load().get("a", "where") == "home"

    (work / "law.cfg").write_text("[a]\nwhere = cwd\n")
    assert Config.load().get("a", "where") == "cwd"

    explicit = tmp_path / "explicit.cfg"
    explicit.write_text("[a]\nwhere = explicit\n")
    monkeypatch.setenv("LAW_CORE_CONFIG", str(explicit))
    assert Config.load().get("a", "where") == "explicit"


def test_environment_overrides_file_which_overrides_plugin_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert Config.load().get("local_workflow", "workers") == "1"  # the core plugin's default
    (tmp_path / "law.cfg").write_text("[local_workflow]\nworkers = 3\n[fs.my-store]\nbase = /x\n")
    config = Config.load()
    assert config.get_int("local_workflow", "workers") == 3
    assert config.origin("local_workflow", "workers") == f"{tmp_path / 'law.cfg'}:2"
    monkeypatch.setenv("LAW_CORE__LOCAL_WORKFLOW__WORKERS", "5")
    monkeypatch.setenv("LAW_CORE__FS_MY_STORE__BASE", "/y")
    config = Config.load()
    assert config.get_int("local_workflow", "workers") == 5
    assert config.origin("local_workflow", "workers") == \
        "environment variable LAW_CORE__LOCAL_WORKFLOW__WORKERS"
    assert config.get("fs.my-store", "base") == "/y"


def test_values_expand_environment_variables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANALYSIS_DATA", "/data/ana")
    (tmp_path / "law.cfg").write_text("[target]\nstore = $ANALYSIS_DATA/out\n")
    assert get_config().get("target", "store") == "/data/ana/out"


@pytest.mark.parametrize("text, line, words", [
    ("store = x\n", 1, "outside of a section"),
    ("[target]\nstore = x\nstore = y\n", 3, "store"),
    ("[target]\nstore = x\n[target]\n", 3, "target"),
    ("[target]\n  = nothing\n", 2, "cannot parse"),
])
def test_malformed_file_names_file_and_line(tmp_path, monkeypatch, text, line, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text(text)
    with pytest.raises(ConfigError) as info:
        Config.load()
    message = str(info.value)
    assert f"{tmp_path / 'law.cfg'}, line {line}" in message
    assert words in message


def test_bad_value_names_option_file_and_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text("[local_workflow]\n# comment\nworkers = many\n")
    with pytest.raises(ConfigError) as info:
        get_config().get_int("local_workflow", "workers")
    assert str(info.value) == (f"config option local_workflow.workers = 'many' "
                               f"({tmp_path / 'law.cfg'}:3) is not an integer")


def test_missing_option_says_how_to_set_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="LAW_CORE__NOPE__THING"):
        get_config().get("nope", "thing")


def test_cli_lists_gets_and_sets_keeping_comments(tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("# my analysis\n[target]\n# where outputs go\nstore = /a\n\n[modules]\nana\n")
    listed = run_cli(["config"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "[target]\nlocal_store = data\nstore = /a" in listed.stdout
    assert "[local_workflow]\nworkers = 1" in listed.stdout

    assert run_cli(["config", "target.store"], tmp_path).stdout.strip() == "/a"
    written = run_cli(["config", "target.store", "/b"], tmp_path)
    assert written.returncode == 0, written.stderr
    run_cli(["config", "local_workflow.workers", "4"], tmp_path)
    text = cfg.read_text()
    assert "# my analysis" in text and "# where outputs go" in text
    assert "store = /b" in text and "store = /a" not in text
    assert "[local_workflow]\nworkers = 4" in text
    assert run_cli(["config", "local_workflow.workers"], tmp_path).stdout.strip() == "4"
    origin = run_cli(["config", "target.store", "--origin"], tmp_path).stdout
    assert f"{cfg}:4" in origin


def test_cli_reports_errors_without_traceback(tmp_path):
    (tmp_path / "law.cfg").write_text("[target\nstore = x\n")
    result = run_cli(["config"], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "law-core: error:" in result.stderr and "line 1" in result.stderr

    unknown = run_cli(["config", "no.such"], tmp_path / "..")
    assert unknown.returncode == 1 and "is not set" in unknown.stderr
    bad_key = run_cli(["config", "nodot"], tmp_path / "..")
    assert bad_key.returncode == 1 and "SECTION.OPTION" in bad_key.stderr


def test_listing_masks_credentials(tmp_path):
    (tmp_path / "law.cfg").write_text("[fs.box]\nbase = dropbox://dropbox.com/a\n"
                                      "refresh_token = abc123secretvalue\napp_secret = xyz\n")
    listed = run_cli(["config"], tmp_path).stdout
    assert "abc123secretvalue" not in listed and "xyz" not in listed
    assert "refresh_token = ****" in listed and "base = dropbox://dropbox.com/a" in listed
    # asking for the one option by name shows it: that is a deliberate act
    assert run_cli(["config", "fs.box.refresh_token"], tmp_path).stdout.strip() == \
        "abc123secretvalue"


# values resolved once, where law-core runs, and handed on as resolved

def test_variables_pwd_and_literal_dollars(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_ROOT", "/data/me")
    monkeypatch.setenv("PWD", "/somewhere/stale")  # as after os.chdir in a job
    (tmp_path / "law.cfg").write_text(
        "[a]\nroot = $MY_ROOT/x\nbraced = ${MY_ROOT}y\nhere = $PWD/data\n"
        "price = 5$$ each\nlone = a$\nhome = ~/stuff\n")
    config = Config.load()
    assert config.get("a", "root") == "/data/me/x"
    assert config.get("a", "braced") == "/data/mey"
    assert config.get("a", "here") == f"{tmp_path}/data"  # the real working directory
    assert config.get("a", "price") == "5$ each"
    assert config.get("a", "lone") == "a$"
    assert config.get("a", "home").endswith("/stuff") and "~" not in config.get("a", "home")


def test_undefined_variable_is_an_error_naming_file_line_option_and_variable(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAW_CORE_TEST_UNSET", raising=False)
    (tmp_path / "law.cfg").write_text("[target]\n# outputs\nstore = $LAW_CORE_TEST_UNSET/data\n")
    with pytest.raises(ConfigError) as info:
        Config.load().get("target", "store")
    assert str(info.value) == (
        f"config option target.store = '$LAW_CORE_TEST_UNSET/data' ({tmp_path / 'law.cfg'}:3) "
        "refers to the variable $LAW_CORE_TEST_UNSET, which is not set; set it, or write $$ "
        "for a literal $")
    listed = run_cli(["config"], tmp_path)  # the listing still works, to fix it
    assert listed.returncode == 0 and "store = $LAW_CORE_TEST_UNSET/data  # unresolved" \
        in listed.stdout


def test_resolved_config_gives_another_process_the_same_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MY_ROOT", "/data/me")
    monkeypatch.setenv("LAW_CORE__JOB__BOOTSTRAP_COMMAND", "echo $$HOME")
    monkeypatch.setenv("LAW_CORE__DROPBOX__TOKEN", "s3cr3t")
    (tmp_path / "law.cfg").write_text(
        "[modules]\nana\n[target]\nstore = $PWD/out\n[a]\nroot = $MY_ROOT\nprice = 5$$\n"
        "later = $LAW_CORE_TEST_UNSET\nitems =\n    one\n    two\n"
        "[fs.box]\napp_key = k3y\nrefresh_token = t0ken\n")
    snapshot = Config.load().write_resolved(tmp_path / "jobs" / "config.cfg")
    assert oct(snapshot.stat().st_mode & 0o777) == "0o600"
    for secret in ("s3cr3t", "k3y", "t0ken"):  # the other side reads its config file
        assert secret not in snapshot.read_text()

    elsewhere = tmp_path / "job-home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for name in ("MY_ROOT", "LAW_CORE__JOB__BOOTSTRAP_COMMAND", "LAW_CORE__DROPBOX__TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("LAW_CORE_RESOLVED_CONFIG", str(snapshot))
    job = Config.load(tmp_path / "law.cfg")  # the config file, and the resolved values on top
    assert job.get("target", "store") == f"{tmp_path}/out"
    assert job.get("fs.box", "refresh_token") == "t0ken"
    assert job.get("a", "root") == "/data/me"
    assert job.get("a", "price") == "5$"
    assert job.get("job", "bootstrap_command") == "echo $HOME"
    assert job.get_list("a", "items") == ["one", "two"]
    assert job.options("modules") == ["ana"]
    assert not job.has("dropbox", "token")
    with pytest.raises(ConfigError, match="LAW_CORE_TEST_UNSET, which is not set"):
        job.get("a", "later")  # an error where it is used, as on the submitting side
