"""CPU time and memory of a server's process tree, read from /proc (no psutil).

Each server is spawned as the leader of a new session, so "its tree" is every process whose
session id is the leader's pid. That also catches workers a supervisor re-parents or double-forks
(BentoML's circus arbiter, uvicorn's worker processes), which a parent-pid walk could miss.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcStat:
    """The fields of /proc/<pid>/stat this benchmark uses.

    Attributes:
        pid: Process id.
        state: One letter: R running, S sleeping, Z zombie, ...
        session: Session id.
        cpu_seconds: User + system CPU time so far (this process, all its threads).
        rss_bytes: Resident set size.
    """

    pid: int
    state: str
    session: int
    cpu_seconds: float
    rss_bytes: int


def parse_stat(pid: int, text: str) -> ProcStat:
    """Parse the text of /proc/<pid>/stat.

    The command name (field 2) may contain spaces and parentheses, so the numeric fields are
    counted from the last ')'.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field N is rest[N - 3].
    state = rest[3 - 3]
    session = int(rest[6 - 3])
    utime, stime = int(rest[14 - 3]), int(rest[15 - 3])
    rss_pages = int(rest[24 - 3])
    return ProcStat(pid, state, session, (utime + stime) / CLOCK_TICKS, rss_pages * PAGE_SIZE)


def session_members(session: int) -> list[ProcStat]:
    """Every live process of ``session`` (zombies, already dead, are left out)."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = parse_stat(int(entry.name), (entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked, or a kernel thread with odd fields
        if stat.session == session and stat.state != "Z":
            members.append(stat)
    return members


def tree_cpu_seconds(session: int) -> float:
    """User + system CPU seconds used so far by the live processes of ``session``.

    CPU of processes that already exited is not counted; the servers measured keep their worker
    processes for the whole run, so a before/after difference is the run's cost.
    """
    return sum(p.cpu_seconds for p in session_members(session))


def tree_rss_bytes(session: int) -> tuple[int, int]:
    """Sum of RSS over the processes of ``session``, and how many processes there are.

    Pages shared between forked workers are counted once per process, as ``ps`` would; that is
    the documented meaning of "RSS (sum over the process tree)".
    """
    members = session_members(session)
    return sum(p.rss_bytes for p in members), len(members)
