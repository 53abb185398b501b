"""Process-tree selection and /proc/<pid>/stat parsing."""

import os

from serving.procs import ProcStat, parse_stat, select_tree, tree


def _p(pid: int, ppid: int, session: int) -> ProcStat:
    return ProcStat(pid, "S", ppid, session, 1.0, 4096, pid)


def test_parse_stat_handles_spaces_and_parentheses_in_the_name():
    # Fields 3-6 (state, ppid, pgrp, session), 7-13, 14-15 (utime, stime), 16-21, 22 (start
    # time), 23, 24 (rss pages).
    fields = ["S", "1", "10", "10", *["0"] * 7, "150", "50", *["0"] * 6, "999", "0", "25"]
    stat = parse_stat(42, "42 (my (odd) name) " + " ".join(fields))
    assert (stat.state, stat.ppid, stat.session) == ("S", 1, 10)
    assert stat.cpu_seconds == 200 / os.sysconf("SC_CLK_TCK")
    assert stat.start_ticks == 999
    assert stat.rss_bytes == 25 * os.sysconf("SC_PAGE_SIZE")


def test_tree_follows_children_and_the_sessions_they_lead():
    processes = [
        _p(100, 1, 100),  # the server, a session leader
        _p(101, 100, 100),  # a plain child (uvicorn worker)
        _p(102, 100, 102),  # a child in a session of its own (BentoML worker)
        _p(103, 1, 102),  # re-parented, still in that worker's session
        _p(200, 1, 200),  # unrelated
    ]
    assert sorted(p.pid for p in select_tree(100, processes)) == [100, 101, 102, 103]


def test_tree_of_this_process_contains_it():
    assert os.getpid() in {p.pid for p in tree(os.getpid())}
