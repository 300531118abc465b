"""Jobs without a shared file system take the credential files their stores need with them
(the X.509 proxy, a bearer-token file) and, with ``--transfer-logs``, copy their stdout and
stderr to the workflow's store (law_core.workflow.credentials, law_core.workflow.remote).

The jobs here run the real job wrapper in a scratch directory into which the test, playing
the batch system, copies the inputs ``transfer_spec`` names; the proxy is a file with a
PEM-looking text, whose contents must appear in no job file and no log.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from law_core.config import get_config, reset_config
from law_core.errors import JobSubmissionError
from law_core.plugin import JobSubmission
from law_core.targets.file_interface import Credential
from law_core.testing.job_manager import JobFilesOnly, write_tasks
from law_core.workflow import credentials as creds

TASKS = """
    import json
    import os
    import stat

    import law_core as law


    class Carried(law.Workflow):
        def create_branch_map(self):
            return 1

        def output(self):
            return self.target(f"carried_{self.branch}.json")

        def run(self):
            if os.environ.get("CARRIED_FAIL"):
                raise RuntimeError("asked to fail")
            proxy = os.environ.get("X509_USER_PROXY")
            print("branch", self.branch, "says hello on stdout", flush=True)
            self.output().dump({
                "proxy": proxy, "cwd": os.getcwd(),
                "mode": stat.S_IMODE(os.stat(proxy).st_mode) if proxy else None,
                "readable": bool(proxy) and os.access(proxy, os.R_OK),
            })
"""

#: what the stand-in proxy holds: it must show up in no job file and no log
PEM = "-----BEGIN CERTIFICATE-----\nTHIS-IS-THE-SECRET-PROXY-TEXT\n-----END CERTIFICATE-----\n"


class NoSharedFS(JobFilesOnly):
    """Writes the job files of workers without a shared file system; the test plays the
    batch system that copies them around."""

    name = "nosharedfs"

    shared_fs = False


@pytest.fixture
def ana(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ana = tmp_path / "ana"
    ana.mkdir()
    write_tasks(ana, "carried_tasks", TASKS)
    (ana / "law.cfg").write_text(f"[target]\nstore = {tmp_path / 'store'}\n"
                                 f"[job]\nbundle_cache = {tmp_path / 'cache'}\n")
    monkeypatch.chdir(ana)
    monkeypatch.syspath_prepend(str(ana))
    # the job's Python: this one (the bundle's code comes first on its path all the same)
    monkeypatch.setenv("LAW_CORE__JOB__PYTHON", sys.executable)
    for name in ("X509_USER_PROXY", "BEARER_TOKEN_FILE", "BEARER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    reset_config()
    sys.modules.pop("carried_tasks", None)
    return ana


@pytest.fixture
def proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "grid" / "x509up_u4242"
    path.parent.mkdir()
    path.write_text(PEM)
    path.chmod(0o600)
    monkeypatch.setenv("X509_USER_PROXY", str(path))
    return path


def _manager(cls: type[JobFilesOnly] = NoSharedFS) -> Any:
    import carried_tasks  # type: ignore[import-not-found]

    return cls(carried_tasks.Carried())


def _prepare(manager: JobFilesOnly) -> list[JobSubmission]:
    _, _, jobs = manager.prepare_jobs([0], job_file_branches=[0])
    return jobs


def _run(tmp_path: Path, manager: NoSharedFS, job: JobSubmission) -> tuple[int, Path, Any]:
    """The job in a scratch directory with copies of its inputs (group- and
    world-readable, as a batch system may leave them), the job directory out of sight."""
    spec = manager.transfer_spec(job)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    for path in spec.inputs:
        shutil.copyfile(path, scratch / Path(path).name)
        (scratch / Path(path).name).chmod(0o644)
    job_dir = Path(job.job_dir)
    away = job_dir.with_name(job_dir.name + ".away")
    job_dir.rename(away)
    try:
        with open(scratch / spec.stdout, "w") as out, open(scratch / spec.stderr, "w") as err:
            code = subprocess.run([spec.executable, *spec.command], cwd=scratch,
                                  env={"TMPDIR": str(scratch)}, stdout=out, stderr=err,
                                  timeout=300).returncode
    finally:
        away.rename(job_dir)
    return code, scratch, spec


def _job_files_text(job_dir: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in job_dir.rglob("*")
                   if path.is_file() and not path.name.endswith(".tar.gz"))


def test_proxy_travels_by_its_path_and_the_job_sees_a_private_copy(
        ana: Path, tmp_path: Path, proxy: Path) -> None:
    """``[job] send_proxy = true``: the proxy is the last input file (its path here, no
    copy in the job directory, its text in no job file); in the job X509_USER_PROXY names
    the copy in the scratch directory, made 0600 though it arrived 0644."""
    get_config().override("job", "send_proxy", "true", "the test")
    manager = _manager()
    (job,) = _prepare(manager)
    job_dir = Path(job.job_dir)
    spec = manager.transfer_spec(job)
    assert spec.inputs[-1] == str(proxy)
    assert [c.variable for c in manager.job_credentials()] == ["X509_USER_PROXY"]
    assert "LAW_CORE_JOB_CREDENTIALS=X509_USER_PROXY=x509up_u4242\n" in \
        (job_dir / "job_env.sh").read_text()
    assert not list(job_dir.rglob("x509up*"))
    assert "SECRET-PROXY" not in _job_files_text(job_dir)
    code, scratch, spec = _run(tmp_path, manager, job)
    assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    seen = json.loads((tmp_path / "store" / "Carried" / "carried_0.json").read_text())
    assert seen["proxy"] == str(scratch / "x509up_u4242")
    assert seen["mode"] == 0o600 and seen["readable"]
    assert "SECRET-PROXY" not in (scratch / spec.stdout).read_text() + \
        (scratch / spec.stderr).read_text()


def test_a_proxy_that_did_not_arrive_fails_the_setup_naming_it(
        ana: Path, tmp_path: Path, proxy: Path) -> None:
    get_config().override("job", "send_proxy", "true", "the test")
    manager = _manager()
    (job,) = _prepare(manager)
    proxy.rename(proxy.with_name("gone"))  # the batch system finds nothing to copy
    manager.__dict__["_job_credentials"] = []
    code, scratch, _ = _run(tmp_path, manager, job)
    assert code == 10
    status = json.loads((scratch / "status" / "job_1_1.json").read_text())
    assert status["phase"] == "setup"
    assert "x509up_u4242 (X509_USER_PROXY) did not travel with the job" in status["error"]


def test_nothing_is_sent_where_no_store_needs_it(ana: Path, proxy: Path) -> None:
    """The default (auto) with outputs on a local store: an X509_USER_PROXY in the
    environment stays here."""
    manager = _manager()
    (job,) = _prepare(manager)
    assert manager.job_credentials() == []
    assert str(proxy) not in manager.transfer_spec(job).inputs
    assert "LAW_CORE_JOB_CREDENTIALS" not in (Path(job.job_dir) / "job_env.sh").read_text()


def test_send_proxy_true_without_a_proxy_is_an_error(ana: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X509_USER_PROXY", str(tmp_path / "nothing"))
    get_config().override("job", "send_proxy", "true", "the test")
    manager = _manager()
    with pytest.raises(JobSubmissionError, match=r"send_proxy = true, but the X\.509 proxy "
                       r".*nothing does not exist"):
        _prepare(manager)


class _StandInFS:
    """A remote file system as far as the credential lookup asks one: its interface's
    ``credential(base)`` and its bases."""

    def __init__(self, base: str, credential: Credential | None):
        self.file_interface = SimpleNamespace(credential=lambda uri: credential)
        self.failover = SimpleNamespace(bases=[base], op_bases={})


def _workflow_with_outputs_on(fs: _StandInFS) -> Any:
    leaf = SimpleNamespace(fs=fs)
    return SimpleNamespace(output_collection=lambda: SimpleNamespace(targets={0: leaf}))


@pytest.mark.parametrize("send_proxy", ["auto", "false"])
def test_store_presenting_the_proxy_gets_it_sent_unless_switched_off(
        ana: Path, proxy: Path, send_proxy: str) -> None:
    """A proxy file credential, as law-core-gfal's (``path`` and ``X509_USER_PROXY``), is
    sent in auto mode; ``send_proxy = false`` (a site that delegates its own) sends
    nothing."""
    get_config().override("job", "send_proxy", send_proxy, "the test")
    until = datetime.now(timezone.utc) + timedelta(hours=12)
    fs = _StandInFS("root://eos.example.org//store", Credential(
        f"the X.509 proxy {proxy}", until, path=str(proxy), variable="X509_USER_PROXY"))
    sent = creds.job_credentials(_workflow_with_outputs_on(fs), [0])
    expected = [creds.JobCredential(str(proxy), "X509_USER_PROXY",
                                    f"the X.509 proxy {proxy}")]
    assert sent == (expected if send_proxy == "auto" else [])


def test_token_file_credential_is_sent_as_bearer_token_file(ana: Path, tmp_path: Path) -> None:
    """A file interface whose credential is a token file (``path`` and ``variable``)."""
    token = tmp_path / "bt_u4242"
    token.write_text("eyJ.secret.token")
    until = datetime.now(timezone.utc) + timedelta(hours=1)
    fs = _StandInFS("davs://dcache.example.org/pnfs", Credential(
        f"the token {token}", until, path=str(token), variable="BEARER_TOKEN_FILE"))
    (sent,) = creds.job_credentials(_workflow_with_outputs_on(fs), [0])
    assert (sent.path, sent.variable, sent.file_name) == \
        (str(token), "BEARER_TOKEN_FILE", "bt_u4242")


def test_credentials_of_no_file_and_no_credential_send_nothing(ana: Path, proxy: Path) -> None:
    until = datetime.now(timezone.utc) + timedelta(hours=1)
    assert creds.credential_file(Credential("a password of [fs.box]", until)) is None
    # a credential that names a file in words only is not sent: it must say path and
    # variable
    assert creds.credential_file(Credential("the X.509 proxy /elsewhere/x509up", until)) \
        is None
    fs = _StandInFS("root://anonymous.example.org//data", None)
    assert creds.job_credentials(_workflow_with_outputs_on(fs), [0]) == []


def test_bad_send_mode_is_a_config_error(ana: Path) -> None:
    from law_core.errors import ConfigError

    get_config().override("job", "send_token", "sometimes", "the test")
    with pytest.raises(ConfigError, match=r"\[job\] send_token = 'sometimes': expected auto"):
        creds.send_mode("send_token")


def test_transfer_logs_copies_stdout_and_stderr_to_the_store(
        ana: Path, tmp_path: Path, proxy: Path) -> None:
    """``[job] transfer_logs = true`` (what ``--transfer-logs`` sets): the job's stdout and
    stderr as the batch system got them, also in ``<store>/Carried/logs/<job dir>/``; and
    without the proxy's text, though the proxy travelled with the job."""
    get_config().override("job", "transfer_logs", "true", "the test")
    get_config().override("job", "send_proxy", "true", "the test")
    manager = _manager()
    (job,) = _prepare(manager)
    job_dir = Path(job.job_dir)
    logs = tmp_path / "store" / "Carried" / "logs" / job_dir.name
    assert manager.log_store() == str(logs)
    assert f"LAW_CORE_JOB_LOG_STORE={logs}\n" in (job_dir / "job_env.sh").read_text()
    code, scratch, spec = _run(tmp_path, manager, job)
    assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    out, err = (logs / "job_1_1.out").read_text(), (logs / "job_1_1.err").read_text()
    assert "branch 0 says hello on stdout" in out
    # what the batch system got, up to the copying itself
    assert (scratch / spec.stdout).read_text().startswith(out)
    assert (scratch / spec.stderr).read_text().startswith(err)
    assert "SECRET-PROXY" not in out + err
    # the capture files are gone with the job's other directories
    assert [p.name for p in scratch.glob("law-core-*") if p.is_dir()] == []


def test_without_transfer_logs_nothing_goes_to_the_store(ana: Path, tmp_path: Path) -> None:
    manager = _manager()
    (job,) = _prepare(manager)
    assert "LAW_CORE_JOB_LOG_STORE" not in (Path(job.job_dir) / "job_env.sh").read_text()
    code, scratch, spec = _run(tmp_path, manager, job)
    assert code == 0, (scratch / spec.stderr).read_text()[-3000:]
    assert not (tmp_path / "store" / "Carried" / "logs").exists()


def test_logs_of_a_failed_job_reach_the_store(ana: Path, tmp_path: Path) -> None:
    """A job whose branch fails copies its logs all the same, the traceback among them."""
    get_config().override("job", "transfer_logs", "true", "the test")
    get_config().override("job", "bootstrap_command", "export CARRIED_FAIL=1", "the test")
    manager = _manager()
    (job,) = _prepare(manager)
    code, scratch, spec = _run(tmp_path, manager, job)
    assert code == 30, (scratch / spec.stderr).read_text()[-3000:]
    logs = tmp_path / "store" / "Carried" / "logs" / Path(job.job_dir).name
    assert "asked to fail" in (logs / "job_1_1.err").read_text()


def test_a_job_without_its_python_says_its_logs_stayed(
        ana: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before law-core's Python runs there is nothing to copy the logs with: the batch
    system's log says they were not copied."""
    monkeypatch.setenv("LAW_CORE__JOB__PYTHON", str(tmp_path / "no-python"))
    reset_config()
    get_config().override("job", "transfer_logs", "true", "the test")
    manager = _manager()
    (job,) = _prepare(manager)
    code, scratch, spec = _run(tmp_path, manager, job)
    assert code == 10
    assert "the job's logs were not copied" in (scratch / spec.stderr).read_text()


class SharedFS(JobFilesOnly):
    """Writes the job files of workers that share this host's file system."""

    name = "sharedfs"

    shared_fs = True


def _run_shared(tmp_path: Path, job: JobSubmission) -> subprocess.CompletedProcess:
    """The job as a batch system on a shared file system starts it: in a scratch directory,
    with none of the submitting shell's variables."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return subprocess.run(list(job.command), cwd=scratch,
                          env={"TMPDIR": str(scratch), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def test_on_a_shared_file_system_the_job_uses_the_proxy_where_it_is(
        ana: Path, tmp_path: Path, proxy: Path) -> None:
    """The jobs inherit no variable of the submitting shell: X509_USER_PROXY points them at
    the proxy's path here (a renewed proxy reaches waiting jobs); nothing is copied, its text
    is in no job file."""
    get_config().override("job", "send_proxy", "true", "the test")
    manager = _manager(SharedFS)
    (job,) = _prepare(manager)
    job_dir = Path(job.job_dir)
    assert f"export X509_USER_PROXY={proxy}\n" in (job_dir / "job_env.sh").read_text()
    assert manager.job_credentials() == []  # nothing travels
    assert not list(job_dir.rglob("x509up*"))
    assert "SECRET-PROXY" not in _job_files_text(job_dir)
    result = _run_shared(tmp_path, job)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads((tmp_path / "store" / "Carried" / "carried_0.json").read_text())
    assert seen["proxy"] == str(proxy) and seen["readable"]


def test_on_a_shared_file_system_a_proxy_the_worker_cannot_see_is_named_and_unset(
        ana: Path, tmp_path: Path, proxy: Path) -> None:
    """A proxy in the submitting host's /tmp is not on the workers: the job says so in its
    stderr and runs as it would without law-core, with the variable unset (a store that
    takes another credential still works; one that needs the proxy fails with the reason
    already in the log)."""
    get_config().override("job", "send_proxy", "true", "the test")
    (job,) = _prepare(_manager(SharedFS))
    proxy.unlink()  # as the worker sees it
    result = _run_shared(tmp_path, job)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"the credential file {proxy} (X509_USER_PROXY) of the submitting host is not" \
        in result.stderr and "[job] shared_fs = false" in result.stderr
    seen = json.loads((tmp_path / "store" / "Carried" / "carried_0.json").read_text())
    assert seen["proxy"] is None


def test_on_a_shared_file_system_nothing_is_pointed_at_where_no_store_needs_it(
        ana: Path, proxy: Path) -> None:
    (job,) = _prepare(_manager(SharedFS))
    assert "X509_USER_PROXY" not in (Path(job.job_dir) / "job_env.sh").read_text()
