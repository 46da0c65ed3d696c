"""`make container`: the image of deploy/Containerfile, built with podman on a Debian base.

No registry is reachable from the development machine, so the official python image the
Containerfile names by default cannot be pulled. The base is made here instead, from
Debian's own packages: `debootstrap` a minimal bookworm with python3 and its venv module
from the mirror the machine's apt already uses, `podman import` it as a local image, and
pass it to the build as `--build-arg BASE=...`. The base is cached twice: as the image
(`podman image exists`) and as the tarball under ~/.cache/storekeeper/container, both named
by a digest of what goes into it, so only the first run debootstraps (about a minute).

Podman runs with deploy/podman/containers.conf (see its comments for why each setting).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONTAINERFILE = ROOT / "deploy" / "Containerfile"
CONTAINERS_CONF = ROOT / "deploy" / "podman" / "containers.conf"
SUITE = "bookworm"
# What the base holds beyond debootstrap's minbase (apt, dpkg, coreutils, passwd for useradd):
# python3 (3.11 in bookworm) and its venv module, whose ensurepip brings the pip that installs
# the locked wheels; the CA bundle and /etc/services, as in the official slim image.
PACKAGES = ("python3", "python3-venv", "ca-certificates", "netbase")
# Removed from the tree before it is packed: apt's downloaded packages and lists (the image
# installs nothing with apt), documentation, and the build machine's resolv.conf and
# hostname, which debootstrap copies in (podman mounts its own over them at run time).
PRUNE = (
    "var/cache/apt/archives/*.deb",
    "var/lib/apt/lists/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "etc/resolv.conf",
    "etc/hostname",
)
IMAGE_CONFIG = ('CMD ["python3"]', "ENV LANG=C.UTF-8")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
BASE_REPOSITORY = "localhost/storekeeper-base"
DEFAULT_TAG = "localhost/storekeeper:latest"
# The build's pip trusts what this machine trusts (a TLS-inspecting proxy's CA included),
# through the Containerfile's `pip_cert` build secret; nothing of it stays in the image.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
DEBOOTSTRAP_TIMEOUT_S = 1800
BUILD_TIMEOUT_S = 1800


def cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the base tarballs are kept between runs."""
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "storekeeper" / "container"


def podman_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The environment podman runs in: this one, with deploy/podman/containers.conf."""
    # debootstrap, runc and iptables live in /usr/sbin, which a user's PATH may lack.
    path = environ.get("PATH", "/usr/bin:/bin")
    return {**environ, "CONTAINERS_CONF": str(CONTAINERS_CONF), "PATH": f"{path}:/usr/sbin:/sbin"}


def tool(name: str) -> str:
    """The full path of a program podman_env's PATH finds; RuntimeError naming it if none."""
    found = shutil.which(name, path=podman_env()["PATH"])
    if found is None:
        raise RuntimeError(f"{name} is not installed: run `make container-tools`")
    return found


def podman(
    *args: str, check: bool = True, timeout: float = 120, capture: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run `podman ARGS` with the repository's configuration; its output as text."""
    return subprocess.run(
        [tool("podman"), *args],
        env=podman_env(),
        stdin=subprocess.DEVNULL,
        capture_output=capture,
        text=True,
        check=check,
        timeout=timeout,
    )


def available() -> str | None:
    """None when podman and debootstrap can be used here, else what is missing."""
    path = podman_env()["PATH"]
    missing = [
        name for name in ("podman", "runc", "debootstrap") if not shutil.which(name, path=path)
    ]
    if missing:
        return f"{', '.join(missing)} (make container-tools)"
    if os.geteuid() != 0:
        return "root (debootstrap and this podman configuration run as root)"
    return None


def _apt_sources(etc: Path) -> Iterator[tuple[list[str], list[str], list[str], list[str]]]:
    """Every (types, uris, suites, components) entry of the apt sources under `etc`."""
    one_line = [etc / "sources.list", *sorted((etc / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if words[1:2] and words[1].startswith("["):  # [options]
                while words[1:] and not words[1].endswith("]"):
                    del words[1]
                del words[1]
            if len(words) >= 4:
                yield [words[0]], [words[1]], [words[2]], words[3:]
    for path in sorted((etc / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields: dict[str, list[str]] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[:1].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.split()
            yield (
                fields.get("types", []),
                fields.get("uris", []),
                fields.get("suites", []),
                fields.get("components", []),
            )


def debian_mirror(etc: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt installs bookworm's main component from."""
    for types, uris, suites, components in _apt_sources(etc):
        if "deb" in types and SUITE in suites and "main" in components and uris:
            return uris[0].rstrip("/")
    return DEFAULT_MIRROR


def base_key() -> str:
    """A digest of everything that decides the base's contents (not the mirror it came from)."""
    recipe = {
        "suite": SUITE,
        "variant": "minbase",
        "packages": PACKAGES,
        "prune": PRUNE,
        "config": IMAGE_CONFIG,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def base_tag() -> str:
    """The local image name of the base: localhost/storekeeper-base:bookworm-<digest>."""
    return f"{BASE_REPOSITORY}:{SUITE}-{base_key()}"


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold the cache's lock: two runs at once make the base once, not twice side by side."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def debootstrap(tarball: Path, mirror: str, log: Path) -> None:
    """Make the base's root filesystem from Debian's packages and pack it into `tarball`."""
    with tempfile.TemporaryDirectory(dir=tarball.parent, prefix="debootstrap-") as work:
        rootfs = Path(work) / "rootfs"
        command = [tool("debootstrap"), "--variant=minbase", f"--include={','.join(PACKAGES)}"]
        with open(log, "w") as out:
            done = subprocess.run(
                [*command, SUITE, str(rootfs), mirror],
                env=podman_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=DEBOOTSTRAP_TIMEOUT_S,
            )
        if done.returncode != 0:
            tail = "\n".join(log.read_text().splitlines()[-15:])
            raise RuntimeError(f"debootstrap failed ({done.returncode}); {log} ends:\n{tail}")
        for pattern in PRUNE:
            for path in rootfs.glob(pattern):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        partial = Path(work) / "rootfs.tar"
        subprocess.run(
            [
                tool("tar"),
                "--numeric-owner",
                "--xattrs",
                "-C",
                str(rootfs),
                "-cf",
                str(partial),
                ".",
            ],
            check=True,
            timeout=DEBOOTSTRAP_TIMEOUT_S,
        )
        partial.replace(tarball)  # only a complete tarball ever has the final name


def ensure_base(cache: Path | None = None, mirror: str | None = None) -> str:
    """The base image's name, made first when missing (from the cached tarball if there)."""
    tag = base_tag()
    if podman("image", "exists", tag, check=False).returncode == 0:
        return tag
    cache = cache or cache_dir()
    with _locked(cache):
        if podman("image", "exists", tag, check=False).returncode == 0:
            return tag
        tarball = cache / f"{SUITE}-{base_key()}.tar"
        if not tarball.exists():
            source = mirror or debian_mirror()
            print(f"container: debootstrap {SUITE} from {source} into {tarball}", file=sys.stderr)
            debootstrap(tarball, source, cache / "debootstrap.log")
        changes = [arg for line in IMAGE_CONFIG for arg in ("--change", line)]
        podman("import", *changes, str(tarball), tag, timeout=600)
    return tag


def build(tag: str = DEFAULT_TAG, base: str | None = None, quiet: bool = True) -> str:
    """Build deploy/Containerfile on `base` (the Debian base by default); the image's id.

    Podman keeps each step's layer, so a rebuild with unchanged inputs takes seconds and one
    after a change to src/ redoes only the app's own install, not the locked dependencies.
    """
    base = base or ensure_base()
    before = podman("image", "inspect", "--format", "{{.Id}}", tag, check=False).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="storekeeper-build-") as work:
        iidfile = Path(work) / "iid"
        secret = (
            ["--secret", f"id=pip_cert,src={HOST_CA_BUNDLE}"] if HOST_CA_BUNDLE.is_file() else []
        )
        podman(
            "build",
            # The docker image format keeps HEALTHCHECK (the OCI format has no field for it).
            "--format",
            "docker",
            "--build-arg",
            f"BASE={base}",
            *secret,
            "--iidfile",
            str(iidfile),
            "-f",
            str(CONTAINERFILE),
            "-t",
            tag,
            str(ROOT),
            timeout=BUILD_TIMEOUT_S,
            capture=quiet,
        )
        # The id, not the tag: another build may move the tag while this one's image is used.
        image = iidfile.read_text().strip().removeprefix("sha256:")
    if before and before != image:
        # The image the tag named before, now nameless: removed so that each change to src/
        # does not leave one behind. Refused (and kept) while a container or a tag uses it.
        podman("rmi", before, check=False)
    return image


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m deploy.container` (`make container`)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.container", description=__doc__)
    parser.add_argument("what", choices=("base", "build"), help="make the base only, or build")
    parser.add_argument("--tag", default=DEFAULT_TAG, help="the built image's name")
    parser.add_argument(
        "--base", help="build on this image (e.g. python:3.11-slim-bookworm) instead"
    )
    args = parser.parse_args(argv)
    problem = available()
    if problem is not None:
        print(f"container: needs {problem}", file=sys.stderr)
        return 1
    try:
        if args.what == "base":
            print(ensure_base())
        else:
            image = build(args.tag, args.base, quiet=False)
            print(f"container: built {args.tag} ({image[:12]})", file=sys.stderr)
    except RuntimeError as exc:
        print(f"container: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(
            f"container: {' '.join(map(str, exc.cmd))} failed ({exc.returncode})", file=sys.stderr
        )
        if exc.stderr:
            print(exc.stderr[-4000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
