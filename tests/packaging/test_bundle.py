"""The desktop bundle and the .deb, built from a clean checkout, install and work.

One test, in order (``packaging/build.py`` is the recipe):

* a clean checkout (the tree's tracked and unignored files, nothing built, no .venv) is
  built with ``packaging/build.sh`` into the one-folder bundle and the .deb; the build is
  reused from ``~/.cache/streamscope/`` when its key (a hash of the sources and the build
  environment) has not changed; what it yields is installed and run either way;
* the .deb holds the bundle under /opt/streamscope, /usr/bin/streamscope, the desktop
  file, the metainfo and the icon in every size;
* ``dpkg -i`` installs it (no network: its Depends are already on the machine);
* the installed ``streamscope --self-test``, offscreen, from an unrelated directory and
  without this virtualenv in its environment, passes every check and exits 0; the
  command line is the installed one's (``--version``, ``broker --help``, ``lesson
  --list`` reading the bundled lessons, and ``-m streamscope.core.sim.eos`` as lesson 10
  starts its child process);
* the installed desktop file and metainfo validate (``desktop-file-validate``,
  ``appstreamcli validate``).

The package is removed again unless it was installed before the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "org.streamscope.Streamscope"
CACHE = Path.home() / ".cache" / "streamscope"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
CHECKS = ("resources", "qt", "passwords", "broker", "produce", "consume", "monitor", "window")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def _as_root() -> list[str]:
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"]).returncode == 0:
        return ["sudo", "-n"]
    pytest.fail("installing the .deb needs root or password-less sudo")


def _clean_checkout(dest: Path) -> Path:
    """The files a clone would have (tracked, plus new files not ignored), as they are."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True, timeout=60,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():  # a deleted, not yet committed file is listed but absent
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _dpkg(root_cmd: list[str], *args: str, deadline_s: float = 180) -> subprocess.CompletedProcess:
    """dpkg, retried while another dpkg or apt holds its lock (another job on the machine)."""
    deadline = time.monotonic() + deadline_s
    while True:
        done = subprocess.run([*root_cmd, "dpkg", *args], capture_output=True, text=True,
                              timeout=300)
        if done.returncode == 0 or "lock" not in done.stderr or time.monotonic() > deadline:
            return done
        time.sleep(1)  # the lock holder's time, not ours: poll the real state again


def _installed_version() -> str | None:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", "streamscope"],
                          capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.startswith("install ok installed"):
        return None
    return done.stdout.split()[-1]


def _installed_env(home: Path) -> dict[str, str]:
    """An environment without this virtualenv: the bundle must carry its own Python."""
    venv = Path(sys.prefix)
    path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
            if p and not Path(p).is_relative_to(venv)]
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return dict(env, PATH=os.pathsep.join(path), HOME=str(home), QT_QPA_PLATFORM="offscreen")


def test_the_bundle_and_deb_build_install_and_pass_the_self_test(tmp_path):
    root_cmd = _as_root()
    checkout = _clean_checkout(tmp_path / "checkout")
    dist = tmp_path / "dist"
    build = subprocess.run(
        # zstd: seconds where the release's xz takes minutes on a busy machine.
        ["bash", "packaging/build.sh", "--dist", str(dist), "--cache-dir", str(CACHE),
         "--compression", "zstd"],
        cwd=checkout, env=dict(os.environ, PYTHON=sys.executable),
        capture_output=True, text=True, timeout=1100,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print(build.stdout)  # sizes and what dominates them, shown with -s
    assert os.access(dist / "streamscope" / "streamscope", os.X_OK)
    (deb,) = dist.glob("streamscope_*.deb")

    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True, timeout=120).stdout
    paths = {line.split()[5].removeprefix(".") for line in contents.splitlines()}
    expected = {
        "/opt/streamscope/streamscope", "/usr/bin/streamscope",
        f"/usr/share/applications/{APP_ID}.desktop", f"/usr/share/metainfo/{APP_ID}.metainfo.xml",
        f"/usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
    } | {f"/usr/share/icons/hicolor/{n}x{n}/apps/{APP_ID}.png" for n in ICON_SIZES}
    assert expected <= paths, sorted(expected - paths)

    before = _installed_version()
    install = _dpkg(root_cmd, "-i", str(deb))
    try:
        assert install.returncode == 0, install.stdout + install.stderr
        _check_installed(tmp_path)
    finally:
        if before is None:
            _dpkg(root_cmd, "-r", "streamscope")


def _check_installed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    env = _installed_env(home)
    exe = shutil.which("streamscope", path=env["PATH"])
    assert exe is not None and Path(exe).resolve() == Path("/opt/streamscope/streamscope")

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([exe, *args], cwd=elsewhere, env=env, capture_output=True,
                              text=True, timeout=timeout)

    test = run("--self-test")
    assert test.returncode == 0, test.stdout + test.stderr[-3000:]
    lines = test.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [f"ok   {c}" for c in CHECKS], lines
    assert "/opt/streamscope/" in lines[0]  # the bundle's resources, not the checkout's
    assert lines[-1].startswith("self-test passed")

    version = run("--version")
    assert version.returncode == 0 and version.stdout.strip().startswith("streamscope 0."), \
        version.stdout + version.stderr
    assert run("broker", "--help").returncode == 0
    lessons = run("lesson", "--list")
    assert lessons.returncode == 0 and "fanout" in lessons.stdout, lessons.stderr[-2000:]
    eos = run("-m", "streamscope.core.sim.eos", "--help")
    assert eos.returncode == 0 and "--bootstrap" in eos.stdout, eos.stderr[-2000:]

    desktop = f"/usr/share/applications/{APP_ID}.desktop"
    metainfo = f"/usr/share/metainfo/{APP_ID}.metainfo.xml"
    valid = subprocess.run(["desktop-file-validate", desktop], capture_output=True, text=True)
    assert valid.returncode == 0 and "error" not in valid.stdout.lower(), valid.stdout
    meta = subprocess.run(["appstreamcli", "validate", "--no-net", metainfo],
                          capture_output=True, text=True)
    assert meta.returncode == 0, meta.stdout + meta.stderr
