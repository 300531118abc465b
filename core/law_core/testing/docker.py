"""A Docker daemon and a locally built image for tests; nothing is pulled.

- :func:`docker_daemon` answers when ``docker info`` does; it starts ``dockerd`` (Debian's
  ``docker.io``; as root) when no daemon answers, and stops it afterwards only if it
  started it, so it works beside a daemon that is already running.
- :func:`debian_rootfs` is a ``debootstrap --variant=minbase --include=python3 bookworm``
  directory (CPython 3.11, about 40 s to build), cached between runs below
  ``$LAW_CORE_TEST_CACHE`` (default ``~/.cache/law-core/test-rootfs``) under a version
  string; sandbox tests use it as a directory image too.
- :func:`docker_image` imports that directory as an image (``docker import``) unless the
  daemon has it already.
- :func:`system_user` and :func:`python_for_user` let a test run law-core as a non-root
  user, so that "owned by the calling user" means something when tests run as root.

They need the Debian packages ``docker.io`` and ``debootstrap``; a missing one is an error
naming it, not a skip.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from law_core.errors import LawCoreError

#: bump to rebuild every cached root file system and image
ROOTFS_VERSION = "bookworm-minbase-python3-v1"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def _need(binary: str, package: str) -> str:
    path = shutil.which(binary, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if not path:
        raise LawCoreError(f"{binary} not found: install the Debian package {package}")
    return path


def docker_answers(timeout: float = 10) -> bool:
    """Whether a Docker daemon answers ``docker info``."""
    try:
        return subprocess.run([_need("docker", "docker.io"), "info"], capture_output=True,
                              timeout=timeout).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@contextlib.contextmanager
def docker_daemon(log_dir: Path, timeout: float = 90) -> Iterator[bool]:
    """Make sure a Docker daemon answers; yields whether this call started it (and then
    stops it on exit)."""
    if docker_answers():
        yield False
        return
    log = Path(log_dir) / "dockerd.log"
    with open(log, "ab") as out:
        process = subprocess.Popen([_need("dockerd", "docker.io")], stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not docker_answers():
            if process.poll() is not None:
                if docker_answers():  # another one won the race: use it, stop nothing
                    process = None
                    break
                raise LawCoreError(f"dockerd exited with {process.returncode}: "
                                   f"{log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise LawCoreError(f"dockerd did not answer within {timeout} s: "
                                   f"{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield process is not None
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def debian_mirror() -> str:
    """``$LAW_CORE_TEST_DEBIAN_MIRROR``, else the Debian mirror apt uses here."""
    if os.environ.get("LAW_CORE_TEST_DEBIAN_MIRROR"):
        return os.environ["LAW_CORE_TEST_DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob(
        "*.sources")) + sorted(Path("/etc/apt/sources.list.d").glob("*.list"))
    for source in sources:
        try:
            text = source.read_text()
        except OSError:
            continue
        for uri in re.findall(r"(?m)^(?:URIs:|deb)\s+(?:\[[^\]]*\]\s+)?(\S+)", text):
            if uri.rstrip("/").endswith("/debian"):
                return uri
    return DEFAULT_MIRROR


def _unmount_below(path: Path) -> None:
    # debootstrap mounts /proc and /sys in its target and may leave them after a failure
    below = str(path.resolve()) + "/"
    with open("/proc/self/mounts") as f:
        points = [line.split()[1] for line in f if line.split()[1].startswith(below)]
    for point in sorted(points, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def debian_rootfs(cache: Path | str | None = None, version: str = ROOTFS_VERSION) -> Path:
    """A Debian bookworm minbase root file system with python3, built once per version
    (under a lock, so concurrent test sessions build it once) and cached."""
    cache = Path(cache or os.environ.get("LAW_CORE_TEST_CACHE")
                 or Path.home() / ".cache" / "law-core" / "test-rootfs")
    cache.mkdir(parents=True, exist_ok=True)
    final = cache / version
    with open(cache / f"{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (final / "usr" / "bin" / "python3").exists():
            return final
        debootstrap = _need("debootstrap", "debootstrap")
        partial = cache / f"{version}.partial"
        if partial.exists():
            _unmount_below(partial)
            shutil.rmtree(partial)
        result = subprocess.run(
            [debootstrap, "--variant=minbase", "--include=python3", "bookworm", str(partial),
             debian_mirror()], capture_output=True, text=True, timeout=1200)
        _unmount_below(partial)
        if result.returncode != 0:
            raise LawCoreError(f"debootstrap failed ({result.returncode}): "
                               f"{(result.stdout + result.stderr)[-3000:]}")
        shutil.rmtree(partial / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        partial.rename(final)
    return final


def docker_image(rootfs: Path, tag: str | None = None) -> str:
    """The image made of ``rootfs`` by ``docker import`` (imported only once)."""
    docker = _need("docker", "docker.io")
    tag = tag or f"law-core-test:{Path(rootfs).name}"
    if subprocess.run([docker, "image", "inspect", tag], capture_output=True).returncode == 0:
        return tag
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."],
                           stdout=subprocess.PIPE)
    result = subprocess.run([docker, "import", "-", tag], stdin=tar.stdout,
                            capture_output=True, text=True)
    tar.stdout.close()  # type: ignore[union-attr]
    if tar.wait() != 0 or result.returncode != 0:
        raise LawCoreError(f"docker import of {rootfs} failed: {result.stderr[-2000:]}")
    return tag


def system_user(name: str, groups: tuple[str, ...] = ()) -> pwd.struct_passwd:
    """A system user without home, created if missing, member of ``groups``."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        subprocess.run([_need("useradd", "passwd"), "--system", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                       check=True, capture_output=True)
        entry = pwd.getpwnam(name)
    for group in groups:
        subprocess.run([_need("usermod", "passwd"), "-aG", group, name], check=True,
                       capture_output=True)
    return entry


def run_as(user: str, command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """``command`` as ``user`` (``runuser``, so its groups are set from /etc/group)."""
    return subprocess.run([_need("runuser", "util-linux"), "-u", user, "--", *command],
                          **kwargs)


def python_for_user(user: str, directory: Path) -> str:
    """A Python interpreter ``user`` can run that imports this law-core: this one if the
    user can run it, else a venv in ``directory`` made from the system's python3 (which
    must be this minor version) that sees this interpreter's site-packages."""
    probe = [sys.executable, "-c", "import law_core"]
    if run_as(user, probe, capture_output=True).returncode == 0:
        return sys.executable
    system = shutil.which("python3", path="/usr/bin:/bin")
    version = list(sys.version_info[:2])
    if not system or subprocess.run(
            [system, "-c", f"import sys; sys.exit(list(sys.version_info[:2]) != {version})"]
    ).returncode != 0:
        raise LawCoreError(f"{user} cannot run {sys.executable}, and /usr/bin/python3 is not "
                           f"Python {version[0]}.{version[1]}")
    venv = Path(directory) / "venv"
    if not (venv / "bin" / "python").exists():
        made = subprocess.run([system, "-m", "venv", "--without-pip", str(venv)],
                              capture_output=True, text=True)
        if made.returncode != 0:
            raise LawCoreError(f"cannot make a venv for {user} with {system} (the Debian "
                               f"package python3-venv?): {made.stderr[-1000:]}")
        purelib = subprocess.run(
            [str(venv / "bin" / "python"), "-c",
             "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True).stdout.strip()
        parents = [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
        Path(purelib, "_law_core_parent.pth").write_text(
            "".join(f"import site; site.addsitedir({p!r})\n" for p in parents))
    python = str(venv / "bin" / "python")
    if run_as(user, [python, "-c", "import law_core"], capture_output=True).returncode != 0:
        raise LawCoreError(f"{user} cannot import law_core with {python}")
    return python
