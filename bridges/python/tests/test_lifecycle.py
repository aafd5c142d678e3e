"""Lifecycle: import-time checks, close, context manager, __del__, atexit registry, fork guard."""

from __future__ import annotations

import ctypes.util
import gc
import os
import subprocess
import sys
import textwrap
import time
import unittest
import warnings
from typing import Callable

import sds
from sds import _ffi, _manager
from sds_testutil import ManagerTest, Recorder

# Where the sds under test was imported from (the source tree, or an installed
# wheel): child interpreters import the same one.
SRC = os.path.dirname(os.path.dirname(os.path.abspath(sds.__file__)))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _run_python(code: str, env_extra: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = SRC
    for k, v in env_extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True, timeout=60)


class ImportTest(unittest.TestCase):
    def test_versions(self) -> None:
        self.assertEqual(sds.ABI_VERSION, 0)
        self.assertEqual(_ffi.lib.libsds_abi_version(), sds.ABI_VERSION)
        self.assertRegex(sds.__version__, r"^\d+\.\d+\.\d+")
        major, minor, patch = (int(x) for x in sds.__version__.split(".")[:3])
        self.assertEqual(sds.VERSION_NUMBER, major * 10000 + minor * 100 + patch)
        self.assertTrue(os.path.exists(sds.LIBRARY_PATH))

    def test_status_str(self) -> None:
        self.assertTrue(sds.status_str(-5).startswith("LIBSDS_ERR_DECODE"))

    def test_every_function_declared(self) -> None:
        # Every libsds_* of the header has its prototype, in header order.
        header = os.path.join(REPO, "include", "sds.h")
        if not os.path.exists(header):
            self.skipTest("include/sds.h not found")
        import re

        with open(header) as f:
            names = re.findall(r"LIBSDS_API\s+[^;]*?\b(libsds_\w+)\s*\(", f.read())
        self.assertEqual([n for n, _, _ in _ffi._PROTOTYPES], names)
        for name in names:
            fn = getattr(_ffi.lib, name)
            self.assertIsNotNone(fn.argtypes, name)

    def test_abi_mismatch_is_an_import_error(self) -> None:
        code = """
            import ctypes
            class Fake(ctypes.CDLL):
                def __getattr__(self, name):
                    if name == "libsds_abi_version":
                        f = lambda: 99
                        return f
                    return super().__getattr__(name)
            ctypes.CDLL = Fake
            try:
                import sds
            except ImportError as e:
                print("IMPORTERROR", e)
            """
        r = _run_python(code, {})
        self.assertIn("IMPORTERROR", r.stdout, r.stderr)
        self.assertIn("ABI version 99", r.stdout)
        self.assertIn("needs ABI version 0", r.stdout)

    def test_bad_library_path_is_an_import_error(self) -> None:
        r = _run_python(
            """
            try:
                import sds
            except ImportError as e:
                print("IMPORTERROR", e)
            """,
            {"SDS_LIBRARY_PATH": "/nonexistent/libsds.so"},
        )
        self.assertIn("IMPORTERROR", r.stdout, r.stderr)
        self.assertIn("SDS_LIBRARY_PATH", r.stdout)

    def test_no_library_anywhere_says_what_to_do(self) -> None:
        bundled = any(os.path.exists(os.path.join(SRC, "sds", n)) for n in _ffi._LIB_NAMES)
        if bundled or ctypes.util.find_library("sds"):
            self.skipTest("a libsds is bundled or installed: nothing to report")
        r = _run_python(
            """
            try:
                import sds
            except ImportError as e:
                print("IMPORTERROR", e)
            """,
            {"SDS_LIBRARY_PATH": None},
        )
        self.assertIn("IMPORTERROR sds: libsds not found", r.stdout, r.stderr)
        for hint in ("SDS_LIBRARY_PATH", "make wheel", "make install"):
            self.assertIn(hint, r.stdout)

    def test_library_path_may_be_a_directory(self) -> None:
        d = os.path.dirname(os.path.abspath(sds.LIBRARY_PATH))
        r = _run_python("import sds; print('OK', sds.LIBRARY_PATH)", {"SDS_LIBRARY_PATH": d})
        self.assertIn("OK", r.stdout, r.stderr)


class ExitTest(unittest.TestCase):
    def test_exit_with_open_managers_and_a_backlog_does_not_hang(self) -> None:
        # Four managers left open, each with a slow handler and a backlog of
        # events that would take minutes to deliver: closing them at exit drops
        # the backlog, so the interpreter exits promptly.
        code = """
            import threading, time
            import sds
            entered = threading.Semaphore(0)
            def slow(event):
                entered.release()
                time.sleep(0.05)  # not synchronisation: a handler that falls behind
            managers = []
            for i in range(4):
                m = sds.ReliabilityManager(participant_id=f"p{i}")
                m.set_event_handler(slow)
                for _ in range(1000):
                    m.run_tasks(sync=True)
                managers.append(m)
            for _ in range(4):
                entered.acquire()  # every manager's handler is busy
            print("BACKLOG", flush=True)
            """
        t0 = time.monotonic()
        r = _run_python(code, {})
        elapsed = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("BACKLOG", r.stdout)
        self.assertLess(elapsed, 20.0, "delivering the backlog would take 4 x 50 s")


class CloseTest(ManagerTest):
    def test_close_twice(self) -> None:
        m = sds.ReliabilityManager("alice")
        self.assertFalse(m.closed)
        m.close()
        self.assertTrue(m.closed)
        m.close()
        self.assertTrue(m.closed)

    def test_closed_error_after_close(self) -> None:
        m = sds.ReliabilityManager("alice")
        m.wrap(b"x", "m1", "ch")
        m.close()
        calls: list[Callable[[], object]] = [
            lambda: m.wrap(b"x", "m2", "ch"),
            lambda: m.unwrap(b"\x0a\x01x"),
            lambda: m.mark_dependencies_met([b"m1"], "ch"),
            m.reset,
            lambda: m.remove_channel("ch"),
            m.start,
            m.stop,
            m.run_tasks,
            lambda: m.set_event_handler(print),
            lambda: m.set_hint_provider(None),
        ]
        for call in calls:
            with self.assertRaises(sds.ClosedError) as cm:
                call()
            self.assertIsInstance(cm.exception, sds.SdsError)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertEqual(cm.exception.status, -11)
        with self.assertRaises(sds.ClosedError):
            with m:
                pass

    def test_handle_is_freed_by_close(self) -> None:
        m = sds.ReliabilityManager()
        h = m._handle
        m.close()
        # The library itself no longer knows the handle.
        with self.assertRaises(sds.InvalidHandleError):
            _ffi.free(h)

    def test_context_manager(self) -> None:
        with sds.ReliabilityManager("alice") as m:
            self.assertIsInstance(m, sds.ReliabilityManager)
            wire = m.wrap(b"hi", "m1", "ch")
            self.assertTrue(wire)
        self.assertTrue(m.closed)
        with self.assertRaises(RuntimeError):
            with sds.ReliabilityManager() as m2:
                raise RuntimeError("boom")
        self.assertTrue(m2.closed)

    def test_del_closes_with_resource_warning(self) -> None:
        m = sds.ReliabilityManager("alice")
        h, key = m._handle, m._key
        self.assertIn(key, _manager._live)
        with self.assertWarns(ResourceWarning):
            del m
            gc.collect()
        with self.assertRaises(sds.InvalidHandleError):
            _ffi.free(h)  # freed by __del__
        self.assertNotIn(key, _manager._live)
        self.assertNotIn(key, _ffi._targets)

    def test_del_of_a_closed_manager_is_silent(self) -> None:
        m = sds.ReliabilityManager()
        m.close()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            del m
            gc.collect()

    def test_failed_construction_leaves_nothing(self) -> None:
        before = (len(_manager._live), len(_ffi._targets))
        with self.assertRaises(sds.InvalidArgumentError):
            sds.ReliabilityManager(config=sds.Config(bloom_error_rate=2.0))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gc.collect()
        self.assertEqual((len(_manager._live), len(_ffi._targets)), before)

    def test_del_while_events_pending_and_a_cycle(self) -> None:
        # A handler that refers to its own manager makes a reference cycle; the
        # collector closes it, and no event arrives after that.
        rec = Recorder()
        m = sds.ReliabilityManager()

        def handler(e: sds.Event, m: sds.ReliabilityManager = m) -> None:
            rec(e)

        m.set_event_handler(handler)
        del handler  # only the manager holds it now
        m.run_tasks(sync=True)
        rec.wait(1)
        h = m._handle
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del m
            gc.collect()
        with self.assertRaises(sds.InvalidHandleError):
            _ffi.free(h)

    def test_close_from_inside_the_event_handler(self) -> None:
        rec = Recorder()
        m = sds.ReliabilityManager()

        def handler(e: sds.Event) -> None:
            rec(e)
            m.close()

        m.set_event_handler(handler)
        m.run_tasks(sync=True)
        rec.wait(1)
        self.assertTrue(m.closed)
        with self.assertRaises(sds.ClosedError):
            m.run_tasks()

    def test_close_is_registered_for_exit(self) -> None:
        m = self.manager()
        self.assertIs(_manager._live[m._key](), m)
        # The exit hook closes every open manager.
        r = _run_python(
            """
            import sds
            events = []
            m = sds.ReliabilityManager(on_event=events.append)
            m.start()  # a live dispatcher and timers at exit
            print("DONE")
            """,
            {},
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("DONE", r.stdout)

    def test_repr(self) -> None:
        m = sds.ReliabilityManager("alice")
        self.assertIn("alice", repr(m))
        m.close()
        self.assertIn("closed", repr(m))

    def test_fork_guard(self) -> None:
        # No real fork (the Go runtime's threads do not survive it): simulate
        # the flag the at-fork hook sets in a child.
        m = sds.ReliabilityManager()
        h = m._handle
        _ffi._forked = True
        try:
            with self.assertRaisesRegex(RuntimeError, "spawn"):
                m.wrap(b"x", "m", "ch")
            with self.assertRaises(RuntimeError):
                sds.ReliabilityManager()
            m.close()  # in a child: forgets the handle, never calls the library
            self.assertTrue(m.closed)
        finally:
            _ffi._forked = False
        _ffi.free(h)  # still alive in the library: close() did not touch it


if __name__ == "__main__":
    unittest.main()
