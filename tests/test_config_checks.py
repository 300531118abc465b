"""Config mistakes that must not pass silently (issue 20): writing a config keeps the file
what it was, unreadable files and misspelt options are errors naming file, line and fix."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from law_core.config import Config, get_config
from law_core.errors import ConfigError
from law_core.testing.cli import run_cli

# writing: `law-core config SECTION.OPTION VALUE`


def test_set_keeps_mode_of_a_private_config(tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[target]\nstore = /a\n")
    cfg.chmod(0o600)
    result = run_cli(["config", "target.store", "/b"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert "store = /b" in cfg.read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_set_keeps_owner(tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[target]\nstore = /a\n")
    os.chown(cfg, 65534, 65534)
    Config(cfg).set("target", "store", "/b")
    assert (cfg.stat().st_uid, cfg.stat().st_gid) == (65534, 65534)
    assert "store = /b" in cfg.read_text()


def test_set_writes_through_a_symlink(tmp_path):
    real = tmp_path / "dotfiles" / "law.cfg"
    real.parent.mkdir()
    real.write_text("[target]\nstore = /a\n")
    link = tmp_path / "law.cfg"
    link.symlink_to(real)
    result = run_cli(["config", "target.store", "/b"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert link.is_symlink() and link.resolve() == real
    assert "store = /b" in real.read_text()
    assert not [p.name for p in real.parent.iterdir() if p.name != "law.cfg"]  # no temp left


def test_new_config_file_respects_umask(tmp_path):
    old = os.umask(0o027)
    try:
        Config().set("target", "store", "/b", path=tmp_path / "law.cfg")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "law.cfg").stat().st_mode) == 0o640


@pytest.mark.parametrize("key, value", [
    ("local_workflow.workers", "4\n[local_workflow]\nworkers = zzz"),
    ("local_workflow.workers", "4\r[x]"),
    ("local_workflow.wor\nkers", "4"),
])
def test_set_refuses_line_breaks(tmp_path, key, value):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[local_workflow]\nworkers = 2\n")
    result = run_cli(["config", key, value], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "law-core: error:" in result.stderr and "contains a line break" in result.stderr
    assert cfg.read_text() == "[local_workflow]\nworkers = 2\n"


def test_set_replaces_a_multi_line_value_whole(tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[slurm]\nextra_lines = --qos=short\n    --exclusive\nmemory = 100\n")
    config = Config(cfg)
    config.set("slurm", "extra_lines", "--qos=long")
    assert cfg.read_text() == "[slurm]\nextra_lines = --qos=long\nmemory = 100\n"
    assert config.get("slurm", "extra_lines") == "--qos=long"


# finding the file: $LAW_CORE_CONFIG


def test_missing_config_named_by_the_variable_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text("[target]\nstore = /fallback\n")
    missing = tmp_path / "x" / "y.cfg"
    monkeypatch.setenv("LAW_CORE_CONFIG", str(missing))
    with pytest.raises(ConfigError) as info:
        get_config()
    assert str(info.value) == (f"LAW_CORE_CONFIG={missing}: no such file; unset it or point "
                               "it at a config file")

    monkeypatch.setenv("LAW_CORE_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError, match=f"LAW_CORE_CONFIG={tmp_path}: is a directory"):
        Config.load()


def test_config_set_creates_the_file_the_variable_names(tmp_path):
    (tmp_path / "law.cfg").write_text("[target]\nstore = /fallback\n")
    new = tmp_path / "conf" / "new.cfg"
    listed = run_cli(["config"], tmp_path, LAW_CORE_CONFIG=str(new))
    assert listed.returncode == 1 and f"LAW_CORE_CONFIG={new}: no such file" in listed.stderr

    written = run_cli(["config", "target.store", "/b"], tmp_path, LAW_CORE_CONFIG=str(new))
    assert written.returncode == 0, written.stderr
    assert new.read_text() == "[target]\nstore = /b\n"
    assert (tmp_path / "law.cfg").read_text() == "[target]\nstore = /fallback\n"
    shown = run_cli(["config", "target.store"], tmp_path, LAW_CORE_CONFIG=str(new))
    assert shown.stdout.strip() == "/b"


# reading: files that are no INI text, malformed headers


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 4,
    "[target]\nstore = /a\n".encode("utf-16"),
    "[target]\nstore = /a\n".encode("utf-16-le"),  # no byte order mark: NUL bytes
])
def test_binary_file_is_not_a_text_config_file(tmp_path, data):
    (tmp_path / "law.cfg").write_bytes(data)
    result = run_cli(["config"], tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"law-core: error: {tmp_path / 'law.cfg'} is not a text config file (" \
        in result.stderr


def test_utf8_byte_order_mark_is_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_bytes("[target]\nstore = /ä\n".encode("utf-8-sig"))
    assert get_config().get("target", "store") == "/ä"


@pytest.mark.parametrize("text, line, words", [
    ("[modules\nanalysis\n", 1, "the section header '[modules' is missing its closing ']'; "
                                "write [modules]"),
    ("[target]\nstore = x\n\n[modules\nanalysis\n", 4,
     "the section header '[modules' is missing its closing ']'"),
    ("[target]\nstore = x\n[]\n", 3, "the section header '[]' has no name"),
    # configparser fails with an AttributeError on this one
    ("[modules]\nanalysis\n    plots\n", 3, "the indented line 'plots' continues 'analysis', "
                                           "which has no '='; remove the indentation"),
])
def test_section_header_without_closing_bracket(tmp_path, monkeypatch, text, line, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text(text)
    with pytest.raises(ConfigError) as info:
        Config.load()
    assert str(info.value).startswith(f"{tmp_path / 'law.cfg'}, line {line}: {words}")


# Config.check(): what `law-core run` refuses before it starts


@pytest.mark.parametrize("text, line, section, option, hint", [
    ("[local_workflow]\nwokers = 4\n", 2, "local_workflow", "wokers", "did you mean workers?"),
    ("[target]\nstore = /a\nstor = x\n", 3, "target", "stor", "did you mean store?"),
    ("# jobs\n[job]\nforward_evn = X\n", 3, "job", "forward_evn", "did you mean forward_env?"),
    ("[slurm]\npartiton = short\n", 2, "slurm", "partiton", "did you mean partition?"),
    ("[core]\nzzz = 1\n", 2, "core", "zzz", ""),
])
def test_check_refuses_unknown_options_of_owned_sections(tmp_path, monkeypatch, text, line,
                                                         section, option, hint):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text(text)
    config = get_config()  # reading alone does not refuse it
    with pytest.raises(ConfigError) as info:
        config.check()
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'law.cfg'}, line {line}: unknown option "
                              f"{option!r} in [{section}]")
    assert hint in message
    assert "known options: " in message
    if section == "local_workflow":
        assert message.endswith("known options: workers")


def test_check_refuses_unknown_option_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAW_CORE__TARGET__STOR", "/x")
    with pytest.raises(ConfigError, match="environment variable LAW_CORE__TARGET__STOR: "
                                          "unknown option 'stor' in .target.; did you mean "
                                          "store?"):
        get_config().check()


def test_check_refuses_empty_store_and_bad_workers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[target]\nstore =\n")
    with pytest.raises(ConfigError) as info:
        get_config().check()
    assert str(info.value) == (f"config option target.store ({cfg}:2) is empty; give it a "
                               "path or remove it to use the default (data)")

    cfg.write_text("[local_workflow]\nworkers = many\n")
    with pytest.raises(ConfigError, match=r"local_workflow.workers = 'many' .* not an integer"):
        Config.load().check()


def test_check_accepts_free_sections_and_the_users_own(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "law.cfg").write_text(
        "[modules]\nanalysis\n\n[workflow]\nMyWorkflow = slurm\n\n"
        "[sandbox]\nMyTask = venv::/v\nmounts = /a\n\n[fs.box]\nbase = /b\nwhatever = 1\n\n"
        "[slurm]\npartition = short\npython = /usr/bin/python3\nmax_array_size = 10\n\n"
        "[htcondor]\nuniverse = vanilla\n\n[job]\npython = python3\nforward_env = A,B\n\n"
        "[my_analysis]\nlumi = 41.5\n\n[CreateChars]\npoll_interval = 30s\n\n"
        "[logging]\nluigi-interface = INFO\n")
    with caplog.at_level(logging.WARNING, logger="law_core.config"):
        get_config().check()
    assert not caplog.records


def test_check_warns_about_a_misspelt_section(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[target]\nstore = /a\n\n[local_worklfow]\nworkers = 4\n")
    with caplog.at_level(logging.WARNING, logger="law_core.config"):
        get_config().check()
    assert [r.getMessage() for r in caplog.records] == [
        f"{cfg}, line 4: unknown section [local_worklfow]; did you mean [local_workflow]? "
        "(law-core ignores it)"]


def test_check_knows_the_logging_section(tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[loging]\nluigi-interface = INFO\n")
    with caplog.at_level(logging.WARNING, logger="law_core.config"):
        get_config().check()
    assert [r.getMessage() for r in caplog.records] == [
        f"{cfg}, line 1: unknown section [loging]; did you mean [logging]? "
        "(law-core ignores it)"]


def test_cli_config_still_lists_and_fixes_a_typo(tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[local_workflow]\nwokers = 4\n")
    listed = run_cli(["config"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "wokers = 4" in listed.stdout
    assert run_cli(["config", "local_workflow.workers", "4"], tmp_path).returncode == 0
    assert "workers = 4" in cfg.read_text()
