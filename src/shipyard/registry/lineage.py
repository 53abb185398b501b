"""Lineage facts read from the environment: the working directory's git commit, the OS user."""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class GitState:
    """The commit checked out in a repository and whether the tree has local changes."""

    commit: str
    dirty: bool
    repository: str | None


def git_state(directory: Path) -> GitState | None:
    """The git commit of ``directory``'s repository, or None outside a repository (or no git)."""
    git = shutil.which("git")
    if git is None:
        return None

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(  # noqa: S603 - fixed arguments, no shell
                [git, *args],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if not commit:
        return None
    status = run("status", "--porcelain", "--untracked-files=no")
    remote = run("config", "--get", "remote.origin.url")
    return GitState(commit=commit, dirty=bool(status), repository=_without_credentials(remote))


def _without_credentials(url: str | None) -> str | None:
    """The remote URL minus any ``user:token@`` part, which must never reach the registry."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=host))
    return url


def local_actor() -> str:
    """Who is acting when the CLI works directly on SHIPYARD_HOME: the OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"os:{user}"
