"""Build the desktop bundle and the Debian package of this checkout.

Usage::

    python packaging/build.py [--dist DIR] [--cache-dir DIR] [--no-deb] [--trims LIST]
                              [--compression xz|zstd]
    bash packaging/build.sh [same options]   # makes a build virtualenv first if needed

Run it with an interpreter that has the app's dependencies and PyInstaller installed
(``.venv/bin/python`` after ``bash .ci/setup``; ``build.sh`` makes ``build/venv``
otherwise). Nothing outside this checkout is read but that interpreter's packages and
the system's libraries and tools (``objdump``, ``strip``, ``dpkg-deb``, ``dpkg``, ``ldconfig``).

Contract, in order:

1. **Wheel**: ``pip wheel --no-deps`` of the checkout (isolated build: exactly what
   ``pip``/``pipx install`` would install), installed with ``--no-deps --target`` into
   ``build/packaging/stage``.
2. **Bundle**: PyInstaller runs ``packaging/streamscope.spec`` on that stage: the
   one-folder bundle ``DIST/streamscope/`` with the executable ``DIST/streamscope/streamscope``
   (the spec says which Qt modules, plugins and translations are left out, and why);
   then the ``debuginfo`` trim strips debug sections from the binaries that have them.
3. **Check**: every shared library a file of the bundle needs (``DT_NEEDED``) is in the
   bundle or in the system's linker cache; otherwise the build fails naming them.
4. **Package**: ``DIST/streamscope_<version>_<arch>.deb`` built with ``dpkg-deb`` from a
   staged tree: ``/opt/streamscope/`` (the bundle), ``/usr/bin/streamscope`` (a symlink),
   ``/usr/share/applications/<id>.desktop``, ``/usr/share/metainfo/<id>.metainfo.xml``
   and the icon in ``/usr/share/icons/hicolor/`` (every PNG size and ``scalable``). Its
   ``Depends`` are the Debian packages owning the system libraries the bundle links
   (``dpkg -S``), so installing it needs no network once those are present. No maintainer
   scripts: dpkg's triggers update the desktop database and icon cache.
5. **Report**: sizes (``du`` of the bundle, the .deb, the biggest files and packages)
   printed, and written as JSON to ``DIST/build-info.json``.

``--cache-dir DIR``: the build is keyed by a SHA-256 of the checkout's packaged sources
(core/, desktop/, resources/, packaging/, pyproject.toml, README.md), the Python version,
the build interpreter's installed distributions, the trims and the compression. On a hit
the cached .deb is copied to DIST and the bundle extracted from it (no PyInstaller run);
on a miss the build runs and its .deb is stored under ``DIR/bundle-<key>/`` (the newest
three entries are kept). The caller still installs and runs what it gets: the cache
saves the build, never the checks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "org.streamscope.Streamscope"
PACKAGE = "streamscope"
INSTALL_DIR = Path("opt") / PACKAGE
TRIMS = ("modules", "translations", "plugins", "libs", "debuginfo")
SPEC_TRIMS = ("modules", "translations", "plugins", "libs")  # the others are build.py's
SOURCES = ("core", "desktop", "resources", "packaging", "pyproject.toml", "README.md")
MAINTAINER = "Streamscope team <streamscope@localhost>"
CACHE_KEEP = 3  # cached builds kept in --cache-dir


class BuildError(RuntimeError):
    """A step failed; the message says which and why."""


def log(message: str) -> None:
    print(f"build: {message}", flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout)[-4000:]
        raise BuildError(f"{' '.join(map(str, cmd[:4]))} ... exited {done.returncode}:\n{tail}")
    return done


def project_version(root: Path) -> str:
    return tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def source_files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in SOURCES:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                      and p.suffix != ".pyc"]
    return sorted(files)


def cache_key(root: Path, trims: tuple[str, ...]) -> str:
    """What the bundle is made of: sources, interpreter, installed distributions, trims."""
    h = hashlib.sha256()
    for path in source_files(root):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    h.update(f"{sys.version}|{platform.machine()}|{','.join(trims)}".encode())
    dists = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()
                   if (d.metadata["Name"] or "").lower() != PACKAGE)
    h.update("\n".join(dists).encode())
    return h.hexdigest()[:24]


def deb_arch() -> str:
    return run(["dpkg", "--print-architecture"]).stdout.strip()


# -- 1. wheel and stage --------------------------------------------------------------------


def stage_wheel(root: Path, work: Path) -> Path:
    wheels, stage = work / "wheel", work / "stage"
    for d in (wheels, stage):
        shutil.rmtree(d, ignore_errors=True)
    log("wheel of the checkout (pip wheel --no-deps)")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(root)])
    (wheel,) = wheels.glob(f"{PACKAGE}-*.whl")
    run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--no-compile",
         "--target", str(stage), str(wheel)])
    return stage


# -- 2. bundle -----------------------------------------------------------------------------


def freeze(root: Path, stage: Path, work: Path, dist: Path, trims: tuple[str, ...]) -> Path:
    log(f"PyInstaller, trims: {', '.join(trims) or 'none'}")
    spec_trims = ",".join(t for t in trims if t in SPEC_TRIMS)
    env = dict(os.environ, STREAMSCOPE_STAGE=str(stage), STREAMSCOPE_TRIMS=spec_trims)
    done = run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                "--distpath", str(dist), "--workpath", str(work / "pyinstaller"),
                str(root / "packaging" / "streamscope.spec")], env=env, cwd=root)
    for line in done.stdout.splitlines():
        if line.startswith("libs trim drops:"):
            log(line)
    bundle = dist / PACKAGE
    if not (bundle / PACKAGE).is_file():
        raise BuildError(f"PyInstaller made no executable {bundle / PACKAGE}")
    if "debuginfo" in trims:
        strip_debug_info(bundle)
    return bundle


def strip_debug_info(bundle: Path) -> None:
    """``strip --strip-debug`` the binaries that carry DWARF (libpython, lib-dynload,
    uvloop...): symbols stay, only debug sections go. Files without debug sections,
    such as the wheels' auditwheel-patched libraries, are left exactly as they are."""
    stripped = 0
    for elf in elf_files(bundle):
        sections = subprocess.run(["objdump", "-h", str(elf)], capture_output=True,
                                  text=True).stdout
        if " .debug_info " in sections:
            run(["strip", "--strip-debug", str(elf)])
            stripped += 1
    log(f"debuginfo trim: debug sections stripped from {stripped} binaries")


# -- 3. shared libraries -------------------------------------------------------------------


def elf_files(tree: Path) -> list[Path]:
    found = []
    for p in tree.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with p.open("rb") as f:
                if f.read(4) == b"\x7fELF":
                    found.append(p)
    return sorted(found)


def needed(path: Path) -> list[str]:
    out = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True).stdout
    return [ln.split()[1] for ln in out.splitlines() if ln.strip().startswith("NEEDED")]


def system_libraries() -> dict[str, str]:
    """soname -> path, from the linker cache (this architecture's entries)."""
    out = run(["ldconfig", "-p"]).stdout
    libs: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        name, _, rest = line.strip().partition(" (")
        if "x86-64" not in rest and platform.machine() == "x86_64":
            continue
        libs.setdefault(name, rest.rpartition("=> ")[2].strip())
    return libs


def external_libraries(bundle: Path) -> dict[str, str]:
    """The libraries the bundle needs from the system: soname -> path. Raises BuildError
    naming any that neither the bundle nor the system has."""
    inside = {p.name for p in bundle.rglob("*")}
    system = system_libraries()
    outside: dict[str, str] = {}
    missing: dict[str, list[str]] = {}
    for elf in elf_files(bundle):
        for lib in needed(elf):
            if lib in inside:
                continue
            if lib in system:
                outside[lib] = system[lib]
            else:
                missing.setdefault(lib, []).append(str(elf.relative_to(bundle)))
    if missing:
        lines = [f"{lib} (needed by {', '.join(sorted(users)[:3])})"
                 for lib, users in sorted(missing.items())]
        raise BuildError("libraries neither bundled nor installed:\n  " + "\n  ".join(lines))
    return outside


def owning_packages(paths: list[str]) -> list[str]:
    """The Debian packages that own these files (merged /usr tried both ways)."""
    packages: set[str] = set()
    for path in paths:
        candidates = {path, os.path.realpath(path)}
        candidates |= {c.removeprefix("/usr") for c in list(candidates) if c.startswith("/usr/")}
        candidates |= {"/usr" + c for c in list(candidates) if not c.startswith("/usr/")}
        for candidate in sorted(candidates):
            done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            if done.returncode == 0:
                packages.add(done.stdout.split(":")[0].split(",")[0].strip())
                break
        else:
            raise BuildError(f"no Debian package owns {path}")
    return sorted(packages)


# -- 4. the .deb ---------------------------------------------------------------------------


COMPRESSION = {  # dpkg-deb's -Z and -z: (size, time) measured in packaging/README.md
    "xz": ["-Zxz", "-z6"],  # the smallest; slow (minutes on a busy 2-core machine)
    "zstd": ["-Zzstd", "-z10"],  # dpkg >= 1.21.18 (Debian 12, Ubuntu 21.10); seconds
}


def build_deb(root: Path, bundle: Path, work: Path, dist: Path, version: str,
              depends: list[str], compression: str = "xz") -> Path:
    tree = work / "deb"
    shutil.rmtree(tree, ignore_errors=True)
    resources = root / "resources"
    shutil.copytree(bundle, tree / INSTALL_DIR, symlinks=True)
    (tree / "usr" / "bin").mkdir(parents=True)
    (tree / "usr" / "bin" / PACKAGE).symlink_to(Path("/") / INSTALL_DIR / PACKAGE)
    share = tree / "usr" / "share"
    for sub, name in (("applications", f"{APP_ID}.desktop"),
                      ("metainfo", f"{APP_ID}.metainfo.xml")):
        (share / sub).mkdir(parents=True)
        shutil.copy2(resources / "desktop" / name, share / sub / name)
    icons = share / "icons" / "hicolor"
    for png in sorted((resources / "icons" / "app").glob("streamscope-*.png")):
        size = png.stem.rpartition("-")[2]
        (icons / f"{size}x{size}" / "apps").mkdir(parents=True)
        shutil.copy2(png, icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png")
    (icons / "scalable" / "apps").mkdir(parents=True)
    shutil.copy2(resources / "icons" / "streamscope.svg", icons / "scalable" / "apps" / f"{APP_ID}.svg")
    doc = share / "doc" / PACKAGE
    doc.mkdir(parents=True)
    shutil.copy2(root / "README.md", doc / "README.md")

    installed_kib = sum(p.lstat().st_size for p in tree.rglob("*") if not p.is_dir()) // 1024
    arch = deb_arch()
    control = tree / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {version}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {MAINTAINER}\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {', '.join(depends)}\n"
        "Section: devel\n"
        "Priority: optional\n"
        "Description: Kafka-compatible event broker in a window that shows it working\n"
        " Streamscope hosts a real, embedded, Kafka-compatible broker and draws it live:\n"
        " topics, partition logs, consumer-group assignments, lag and throughput. Any\n"
        " Kafka client can connect to it and be watched. Self-contained: Python, Qt and\n"
        " the app's libraries are in /opt/streamscope.\n"
    )
    out = dist / f"{PACKAGE}_{version}_{arch}.deb"
    log(f"dpkg-deb --build ({len(depends)} Depends, {compression})")
    run(["dpkg-deb", "--root-owner-group", *COMPRESSION[compression], "--build", str(tree),
         str(out)])
    shutil.rmtree(tree, ignore_errors=True)
    return out


# -- 5. report -----------------------------------------------------------------------------


def du_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())


def biggest(bundle: Path, n: int = 15) -> list[tuple[str, int]]:
    files = [(str(p.relative_to(bundle)), p.lstat().st_size) for p in bundle.rglob("*")
             if p.is_file() and not p.is_symlink()]
    return sorted(files, key=lambda f: -f[1])[:n]


def by_top_dir(bundle: Path) -> list[tuple[str, int]]:
    """Bytes per top-level package inside _internal (PySide6, numpy, ...)."""
    internal = bundle / "_internal"
    sizes: dict[str, int] = {}
    for p in internal.rglob("*"):
        if p.is_file() and not p.is_symlink():
            top = p.relative_to(internal).parts[0]
            sizes[top] = sizes.get(top, 0) + p.lstat().st_size
    return sorted(sizes.items(), key=lambda kv: -kv[1])[:12]


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


# -- the build -----------------------------------------------------------------------------


def restore_from_deb(deb: Path, dist: Path) -> Path:
    bundle = dist / PACKAGE
    shutil.rmtree(bundle, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=dist) as tmp:
        run(["dpkg-deb", "-x", str(deb), tmp])
        shutil.move(str(Path(tmp) / INSTALL_DIR), bundle)
    return bundle


def build(root: Path, dist: Path, cache_dir: Path | None, trims: tuple[str, ...],
          with_deb: bool = True, compression: str = "xz") -> dict:
    started = time.monotonic()
    dist.mkdir(parents=True, exist_ok=True)
    version = project_version(root)
    key = cache_key(root, (*trims, compression))
    cached = cache_dir / f"bundle-{key}" if cache_dir is not None else None
    if with_deb and cached is not None and (cached / "build-info.json").is_file():
        info = json.loads((cached / "build-info.json").read_text())
        deb = dist / info["deb"]
        shutil.copy2(cached / info["deb"], deb)
        restore_from_deb(deb, dist)
        info.update(cache_hit=True, seconds=round(time.monotonic() - started, 1))
        log(f"cache hit {cached.name}: {deb.name} restored in {info['seconds']} s "
            f"(built cold in {info['cold_seconds']} s)")
        (dist / "build-info.json").write_text(json.dumps(info, indent=1))
        return info

    work = root / "build" / "packaging"
    work.mkdir(parents=True, exist_ok=True)
    stage = stage_wheel(root, work)
    bundle = freeze(root, stage, work, dist, trims)
    outside = external_libraries(bundle)
    info: dict = {
        "version": version, "key": key, "trims": list(trims), "cache_hit": False,
        "bundle_bytes": du_bytes(bundle), "biggest": biggest(bundle),
        "by_package": by_top_dir(bundle), "system_libraries": sorted(outside),
    }
    if with_deb:
        depends = owning_packages(sorted(set(outside.values())))
        deb = build_deb(root, bundle, work, dist, version, depends, compression)
        info.update(deb=deb.name, deb_bytes=deb.stat().st_size, depends=depends)
    info["cold_seconds"] = info["seconds"] = round(time.monotonic() - started, 1)
    (dist / "build-info.json").write_text(json.dumps(info, indent=1))
    if cached is not None and with_deb:
        tmp = cached.with_name(cached.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        shutil.copy2(dist / info["deb"], tmp / info["deb"])
        (tmp / "build-info.json").write_text(json.dumps(info, indent=1))
        shutil.rmtree(cached, ignore_errors=True)
        tmp.rename(cached)  # whole or absent: a killed build never leaves half an entry
        # Keep the newest few entries (each is a .deb of tens of MiB), not every build.
        entries = sorted((d for d in cached.parent.glob("bundle-*") if ".tmp" not in d.name),
                         key=lambda d: d.stat().st_mtime, reverse=True)
        for old in entries[CACHE_KEEP:]:
            shutil.rmtree(old, ignore_errors=True)
    return info


def report(info: dict) -> None:
    log(f"bundle: {mib(info['bundle_bytes'])} ({info['trims'] and ', '.join(info['trims']) or 'no'} trims)")
    if "deb" in info:
        log(f"package: {info['deb']} {mib(info['deb_bytes'])}; Depends: {', '.join(info['depends'])}")
    log("biggest packages: " + ", ".join(f"{n} {mib(b)}" for n, b in info["by_package"]))
    log("biggest files:")
    for name, size in info["biggest"]:
        print(f"  {mib(size):>10}  {name}")
    log(f"done in {info['seconds']} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="reuse a build keyed by the sources' hash (e.g. ~/.cache/streamscope)")
    p.add_argument("--no-deb", action="store_true", help="the bundle only")
    p.add_argument("--trims", default=",".join(TRIMS),
                   help=f"comma-separated, from {','.join(TRIMS)} (default: all); '' for none")
    p.add_argument("--compression", choices=sorted(COMPRESSION), default="xz",
                   help="the .deb's compression (default xz, the smallest; zstd is fast)")
    args = p.parse_args(argv)
    trims = tuple(t for t in TRIMS if t in set(filter(None, args.trims.split(","))))
    try:
        info = build(ROOT, args.dist.resolve(), args.cache_dir, trims, with_deb=not args.no_deb,
                     compression=args.compression)
    except BuildError as exc:
        print(f"build: failed: {exc}", file=sys.stderr)
        return 1
    report(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
