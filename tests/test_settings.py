"""A backend's options declared once (law_core.settings): config defaults, parameters and
the order in which a value is found, derived from one dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from law_core.config import get_config, reset_config
from law_core.errors import ConfigError, ParameterError
from law_core.settings import Settings, option


@dataclass(frozen=True)
class ToySettings(Settings):
    section: ClassVar[str] = "toy"

    queue: str = option("short", "queue of the jobs")
    cores: int = option(0, "cores per job; 0: the queue's")
    runtime: float = option(0.0, "run time per job", kind="duration", unit="m")
    memory: float = option(0.0, "memory per job", kind="bytes", unit="MB")
    exclusive: bool = option(False, "nodes for the job alone")
    extra: str = option("", "more lines", parameter=False)
    token: str = option("", "the site's token", secret=True)


@pytest.fixture
def config(tmp_path, monkeypatch):
    def write(text):
        path = tmp_path / "law.cfg"
        path.write_text(text)
        monkeypatch.setenv("LAW_CORE_CONFIG", str(path))
        reset_config()
        return path
    yield write
    reset_config()


def test_config_defaults_come_from_the_declaration():
    assert ToySettings.config_defaults() == {
        "queue": "short", "cores": "0", "runtime": "0", "memory": "0", "exclusive": "false",
        "extra": "", "token": ""}


def test_parameters_exist_for_options_that_may_be_given_on_the_command_line():
    params = ToySettings.parameters()
    assert sorted(params) == ["toy_cores", "toy_exclusive", "toy_memory", "toy_queue",
                              "toy_runtime"]  # config-only and secret options are not
    assert params["toy_memory"].parse("2GB") == 2000.0
    assert params["toy_runtime"].parse("1h30m") == 90.0
    assert params["toy_queue"].parse("") is None  # empty: not given
    with pytest.raises(ParameterError, match="invalid value 'many' for cores: expected an "
                                             "integer"):
        params["toy_cores"].parse("many")


def test_given_value_wins_over_config_which_wins_over_default(config):
    config("[toy]\nqueue = long\ncores = 4\nruntime = 2h\n")
    settings = ToySettings.resolve({"cores": 8, "queue": None})
    assert settings.queue == "long"      # the config's
    assert settings.cores == 8           # given
    assert settings.runtime == 120.0     # the config's, in minutes
    assert settings.memory == 0.0        # the default
    assert settings.exclusive is False


def test_empty_config_value_means_the_declared_default(config):
    config("[toy]\nqueue =\n")
    assert ToySettings.resolve().queue == "short"


def test_bad_config_value_names_option_value_and_line(config):
    path = config("[toy]\n# a comment\ncores = four\n")
    with pytest.raises(ConfigError) as info:
        ToySettings.resolve()
    assert str(info.value) == f"config option toy.cores = 'four' ({path}:3) is not an integer"


def test_bad_given_value_says_where_it_was_given(config):
    config("")
    with pytest.raises(ConfigError, match=r"memory = 'lots' in the file system's options is "
                                          r"not a size"):
        ToySettings.resolve({"memory": "lots"}, given_where="the file system's options")


def test_secret_options_stay_out_of_the_resolved_config_jobs_read(config, tmp_path,
                                                                  monkeypatch):
    from law_core.registry import get_registry

    config("[toy]\ntoken = abc123\nqueue = long\n")
    monkeypatch.setattr(type(get_registry()), "secret_options",
                        lambda self: {("toy", "token")})
    written = get_config().write_resolved(tmp_path / "resolved.cfg").read_text()
    assert "queue = long" in written and "abc123" not in written


def test_job_manager_options_the_user_did_not_set_stay_out_of_the_scheduler_display():
    from law_core.workflow.base import JOB_MANAGER_PARAMS, Workflow

    assert "slurm_partition" in JOB_MANAGER_PARAMS  # law-core-slurm is installed

    class Shown(Workflow):
        def create_branch_map(self):
            return 1

    unset = Shown()
    assert not any(name.startswith("slurm_") for name in unset.to_str_params())
    assert "slurm_" not in repr(unset)
    given = Shown(slurm_partition="short", slurm_memory="2GB")
    params = given.to_str_params()
    assert params["slurm_partition"] == "short" and params["slurm_memory"] == "2000"
    assert given.task_id == unset.task_id  # backend options are not significant


def test_a_bare_flag_of_a_bool_option_means_true():
    from law_core.arguments import build_task
    from law_core.workflow.base import Workflow

    class Flagged(Workflow):
        def create_branch_map(self):
            return 1

    assert "htcondor_file_transfer" in dict(Flagged.get_params())  # law-core-htcondor
    assert build_task(Flagged, ["--htcondor-file-transfer"]).htcondor_file_transfer is True
    assert build_task(Flagged, ["--htcondor-file-transfer", "false"]) \
        .htcondor_file_transfer is False
    assert build_task(Flagged, []).htcondor_file_transfer is None  # unset: config decides


def test_a_task_value_of_no_str_means_not_set(config):
    """law analyses default their own parameters of a backend's name to law's NO_STR
    ("not set"): the config applies then, not the marker."""
    from law_core.parameters import NO_STR

    config("[toy]\nqueue = long\n")

    class Task:
        toy_queue = NO_STR
        toy_cores = 3

    settings = ToySettings.of_task(Task())
    assert settings.queue == "long"
    assert settings.cores == 3
