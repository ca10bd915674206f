"""``--server-pid``: a process tree sampled from outside (``core.pidtree``), and the hosts a
server bound by ``serve --host`` answers (``core.serving.allowed_hosts``)."""

from __future__ import annotations

import os
import threading
import time

from harness.core.pidtree import ProcessTree, TreeSampler
from harness.core.serving import allowed_hosts


def test_the_tree_sampler_sees_this_process_compute() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(10_000))

    with TreeSampler(os.getpid(), interval_s=0.01) as tree:
        worker = threading.Thread(target=spin)
        worker.start()
        time.sleep(0.3)
        busy = tree.since_last()
        stop.set()
        worker.join()
        time.sleep(0.2)
        idle = tree.since_last()
    assert busy.processes >= 1 and busy.threads >= 2  # this process, its spinning thread and the sampler
    assert busy.parallelism is not None and busy.parallelism > 0.3  # one thread computing most of the time
    assert idle.parallelism is not None and idle.parallelism < busy.parallelism


def test_a_tree_that_is_gone_is_empty() -> None:
    assert ProcessTree(2**22 + 12345).group() == []


def test_serve_host_allows_only_its_own_address() -> None:
    assert allowed_hosts("198.18.0.1") == ["198.18.0.1"]
    assert allowed_hosts("127.0.0.1") == []  # loopback is always allowed by the settings
    assert all(not h.startswith("127.") for h in allowed_hosts("0.0.0.0"))
    assert allowed_hosts("2001:db8::1") == ["[2001:db8::1]"]
