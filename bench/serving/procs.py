"""CPU time and memory of a server's process tree, read from /proc (no psutil).

Each server is spawned as the leader of a new session. Its tree is the leader, every descendant
by parent pid, and every member of a session led by one of those: uvicorn's workers are plain
children, while BentoML's circus arbiter starts each worker in a session of its own (setsid),
and a re-parented grandchild still carries its session id.
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
        ppid: Parent process id.
        session: Session id.
        cpu_seconds: User + system CPU time so far (this process, all its threads).
        rss_bytes: Resident set size.
        start_ticks: When the process started (tells a reused pid from the original).
    """

    pid: int
    state: str
    ppid: int
    session: int
    cpu_seconds: float
    rss_bytes: int
    start_ticks: int


def parse_stat(pid: int, text: str) -> ProcStat:
    """Parse the text of /proc/<pid>/stat.

    The command name (field 2) may contain spaces and parentheses, so the numeric fields are
    counted from the last ')'.
    """
    rest = text[text.rindex(")") + 2 :].split()
    # rest[0] is field 3 (state): field N is rest[N - 3].
    utime, stime = int(rest[14 - 3]), int(rest[15 - 3])
    return ProcStat(
        pid=pid,
        state=rest[3 - 3],
        ppid=int(rest[4 - 3]),
        session=int(rest[6 - 3]),
        cpu_seconds=(utime + stime) / CLOCK_TICKS,
        rss_bytes=int(rest[24 - 3]) * PAGE_SIZE,
        start_ticks=int(rest[22 - 3]),
    )


def all_processes() -> list[ProcStat]:
    """Every live process (zombies, already dead, are left out)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = parse_stat(int(entry.name), (entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue  # exited while we looked
        if stat.state != "Z":
            found.append(stat)
    return found


def select_tree(leader: int, processes: list[ProcStat]) -> list[ProcStat]:
    """``leader`` and everything it started: descendants, and the sessions any of them lead."""
    members = {leader}
    changed = True
    while changed:
        changed = False
        for p in processes:
            if p.pid not in members and (p.ppid in members or p.session in members):
                members.add(p.pid)
                changed = True
    return [p for p in processes if p.pid in members]


def still_running(process: ProcStat) -> bool:
    """Whether ``process`` (not merely a new process with its pid) is alive."""
    try:
        now = parse_stat(process.pid, (PROC / str(process.pid) / "stat").read_text())
    except (OSError, ValueError, IndexError):
        return False
    return now.start_ticks == process.start_ticks and now.state != "Z"


def tree(leader: int) -> list[ProcStat]:
    """The live process tree of the server whose first process is ``leader``."""
    return select_tree(leader, all_processes())


def tree_cpu_seconds(leader: int) -> float:
    """User + system CPU seconds used so far by the live processes of the tree.

    CPU of processes that already exited is not counted; the servers measured keep their worker
    processes for the whole run, so a before/after difference is the run's cost.
    """
    return sum(p.cpu_seconds for p in tree(leader))


def tree_rss_bytes(leader: int) -> tuple[int, int]:
    """Sum of RSS over the tree, and how many processes it has.

    Pages shared between forked workers are counted once per process, as ``ps`` would; that is
    the documented meaning of "RSS (sum over the process tree)".
    """
    members = tree(leader)
    return sum(p.rss_bytes for p in members), len(members)


def tree_maps(leader: int, fragment: str) -> bool:
    """Whether any process of the tree has a file whose path contains ``fragment`` mapped.

    Used to tell whether a server loaded torch (the project venv has it, and importing skops
    there imports it, which costs hundreds of MB and seconds of start-up).
    """
    for p in tree(leader):
        try:
            if fragment in (PROC / str(p.pid) / "maps").read_text():
                return True
        except OSError:
            continue
    return False
