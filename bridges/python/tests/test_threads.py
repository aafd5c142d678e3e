"""Threads: concurrent Python callers, close racing with calls, and a spawned process."""

from __future__ import annotations

import multiprocessing
import os
import threading
import unittest

import sds
from sds import EventType as T
from sds_testutil import ManagerTest, Recorder

THREADS = 4
PER_THREAD = 100


def _child_round_trip(q: "multiprocessing.Queue[object]") -> None:
    import sds as child_sds

    with child_sds.ReliabilityManager("a") as a, child_sds.ReliabilityManager("b") as b:
        q.put(b.unwrap(a.wrap(b"from the child", "m1", "ch")).content)


class ThreadsTest(ManagerTest):
    def test_concurrent_wraps(self) -> None:
        rb = Recorder()
        a = self.manager("alice")
        b = self.manager(on_event=rb)
        wires: list[list[bytes]] = [[] for _ in range(THREADS)]
        errors: list[BaseException] = []
        barrier = threading.Barrier(THREADS)

        def worker(t: int) -> None:
            try:
                barrier.wait()
                for i in range(PER_THREAD):
                    wires[t].append(a.wrap(b"t%d-%d" % (t, i), f"t{t}-{i}", f"ch{t % 2}"))
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        total = THREADS * PER_THREAD
        # Deliver every message; whatever order the threads interleaved in,
        # every one is eventually ready.
        for t in range(THREADS):
            for w in wires[t]:
                b.unwrap(w)
        rb.wait_for(lambda e: len(rb.of_type(T.MESSAGE_READY)) >= total, timeout=20)
        ready = {e.message_id for e in rb.of_type(T.MESSAGE_READY)}
        self.assertEqual(ready, {b"t%d-%d" % (t, i) for t in range(THREADS) for i in range(PER_THREAD)})

    def test_concurrent_unwraps_and_events(self) -> None:
        a = self.manager("alice")
        rb = Recorder()
        b = self.manager(on_event=rb)
        msgs = [a.wrap(b"x", f"m{i}", "ch") for i in range(200)]
        errors: list[BaseException] = []

        def worker(part: list[bytes]) -> None:
            try:
                for w in part:
                    b.unwrap(w)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(msgs[t::THREADS],)) for t in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(errors, [])
        rb.wait_for(lambda e: len(rb.of_type(T.MESSAGE_READY)) >= 200)
        self.assertEqual(len({e.message_id for e in rb.of_type(T.MESSAGE_READY)}), 200)
        callers = {th.ident for th in threads} | {threading.get_ident()}
        self.assertFalse(callers & set(rb.threads))

    def test_close_racing_with_calls(self) -> None:
        for _ in range(5):
            m = sds.ReliabilityManager("alice")
            stop = threading.Event()
            errors: list[BaseException] = []

            def worker(m: sds.ReliabilityManager = m) -> None:
                i = 0
                while not stop.is_set():
                    try:
                        m.wrap(b"x", f"m{i}", "ch")
                    except sds.ClosedError:
                        return
                    except BaseException as e:
                        errors.append(e)
                        return
                    i += 1

            threads = [threading.Thread(target=worker) for _ in range(THREADS)]
            for th in threads:
                th.start()
            m.close()
            stop.set()
            for th in threads:
                th.join()
            self.assertEqual(errors, [])

    def test_spawned_process(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        p = ctx.Process(target=_child_round_trip, args=(q,))
        p.start()
        try:
            self.assertEqual(q.get(timeout=60), b"from the child")
        finally:
            p.join(60)
        self.assertEqual(p.exitcode, 0)


if __name__ == "__main__":
    unittest.main()
