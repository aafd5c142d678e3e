"""The ctypes layer itself: struct layouts against a C compiler, and a
libsds_persistence vtable written in Python (every method takes libsds_str
arguments by value, which ctypes callbacks must receive intact)."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import unittest
from typing import Any, Callable

from sds import _ffi
from sds_testutil import Recorder, craft

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "include"))

STRUCTS = {
    "libsds_str": _ffi.Str,
    "libsds_buffer": _ffi.Buffer,
    "libsds_bytes": _ffi.Bytes,
    "libsds_history_entry": _ffi.HistoryEntry,
    "libsds_options": _ffi.Options,
    "libsds_persistence": _ffi.Persistence,
    "libsds_event": _ffi.Event,
    "libsds_unwrapped": _ffi.Unwrapped,
}


class LayoutTest(unittest.TestCase):
    def test_struct_layouts_match_the_header(self) -> None:
        cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc") or shutil.which("clang")
        if not cc or not os.path.exists(os.path.join(INCLUDE, "sds.h")):
            self.skipTest("needs a C compiler and include/sds.h")
        lines = ["#include <stdio.h>", "#include <stddef.h>", "#include <sds.h>", "int main(void) {"]
        for cname, cls in STRUCTS.items():
            lines.append(f'printf("{cname} sizeof %zu\\n", sizeof({cname}));')
            for fname, *_ in cls._fields_:
                lines.append(f'printf("{cname} {fname} %zu\\n", offsetof({cname}, {fname}));')
        lines += ['printf("LIBSDS_ABI_VERSION x %d\\n", LIBSDS_ABI_VERSION);', "return 0; }"]
        with tempfile.TemporaryDirectory() as d:
            src, exe = os.path.join(d, "layout.c"), os.path.join(d, "layout")
            with open(src, "w") as f:
                f.write("\n".join(lines))
            subprocess.run([cc, "-std=c99", "-I", INCLUDE, src, "-o", exe], check=True, capture_output=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        want = {}
        for line in out.splitlines():
            cname, field, value = line.split()
            want[(cname, field)] = int(value)
        self.assertEqual(want[("LIBSDS_ABI_VERSION", "x")], _ffi.EXPECTED_ABI_VERSION)
        for cname, cls in STRUCTS.items():
            self.assertEqual(ctypes.sizeof(cls), want[(cname, "sizeof")], cname)
            for fname, *_ in cls._fields_:
                self.assertEqual(getattr(cls, fname).offset, want[(cname, fname)], f"{cname}.{fname}")


class PyStore:
    """An in-memory libsds_persistence in Python (no transactions)."""

    KINDS = {
        "append_log_entry": _ffi.RECORD_LOG,
        "save_outgoing": _ffi.RECORD_OUTGOING,
        "save_incoming": _ffi.RECORD_INCOMING,
        "save_outgoing_repair": _ffi.RECORD_OUTGOING_REPAIR,
        "save_incoming_repair": _ffi.RECORD_INCOMING_REPAIR,
    }
    REMOVES = {
        "remove_log_entry": _ffi.RECORD_LOG,
        "remove_outgoing": _ffi.RECORD_OUTGOING,
        "remove_incoming": _ffi.RECORD_INCOMING,
        "remove_outgoing_repair": _ffi.RECORD_OUTGOING_REPAIR,
        "remove_incoming_repair": _ffi.RECORD_INCOMING_REPAIR,
    }

    def __init__(self) -> None:
        self.tables: dict[int, dict[tuple[bytes, bytes], bytes]] = {k: {} for k in range(1, 6)}
        self.lamport: dict[bytes, int] = {}
        self.hints: dict[bytes, bytes] = {}
        self.calls: list[tuple[str, bytes, bytes]] = []
        self.destroys = 0
        self.errors: list[BaseException] = []

    @staticmethod
    def s(v: _ffi.Str) -> bytes:
        return ctypes.string_at(v.data, v.len) if v.data and v.len else b""

    def vtable(self) -> _ffi.Persistence:
        keep: list[Any] = []
        # The C arguments arrive as ctypes values: Any below.

        def guard(fn: Callable[..., int]) -> Callable[..., int]:  # exceptions must never cross into C
            def inner(*a: Any) -> int:
                try:
                    return fn(*a)
                except BaseException as e:
                    self.errors.append(e)
                    return -13
            return inner

        def save_lamport(ud: Any, ch: Any, lam: int) -> int:
            self.calls.append(("save_lamport", self.s(ch), b""))
            self.lamport[self.s(ch)] = lam
            return 0

        def saver(name: str, kind: int) -> Callable[..., int]:
            def save(ud: Any, ch: Any, mid: Any, rec: Any, n: int) -> int:
                self.calls.append((name, self.s(ch), self.s(mid)))
                self.tables[kind][(self.s(ch), self.s(mid))] = ctypes.string_at(rec, n)
                return 0
            return save

        def remover(name: str, kind: int) -> Callable[..., int]:
            def remove(ud: Any, ch: Any, mid: Any) -> int:
                self.calls.append((name, self.s(ch), self.s(mid)))
                self.tables[kind].pop((self.s(ch), self.s(mid)), None)
                return 0
            return remove

        def set_hint(ud: Any, mid: Any, hint: Any, n: int) -> int:
            self.hints[self.s(mid)] = ctypes.string_at(hint, n) if hint and n else b""
            return 0

        def drop(ud: Any, ch: Any) -> int:
            c = self.s(ch)
            for t in self.tables.values():
                for key in [k for k in t if k[0] == c]:
                    del t[key]
            self.lamport.pop(c, None)
            return 0

        def load(ud: Any, ch: Any, loader: Any) -> int:
            c = self.s(ch)
            self.calls.append(("load", c, b""))
            if c in self.lamport:
                assert _ffi.lib.libsds_loader_set_lamport(loader, self.lamport[c]) == 0
            for kind, t in self.tables.items():
                for (kc, _), rec in t.items():
                    if kc == c:
                        assert _ffi.lib.libsds_loader_add_record(loader, kind, rec, len(rec)) == 0
            return 0

        def list_channels(ud: Any, loader: Any) -> int:
            chans = set(self.lamport) | {k[0] for t in self.tables.values() for k in t}
            for c in sorted(chans):
                assert _ffi.lib.libsds_loader_add_channel(loader, c, len(c)) == 0
            return 0

        def destroy(ud: Any) -> None:
            self.destroys += 1

        vt = _ffi.Persistence()
        vt.version = _ffi.PERSISTENCE_VERSION
        funcs = {
            "save_lamport": _ffi.SAVE_LAMPORT_FN(guard(save_lamport)),
            "set_retrieval_hint": _ffi.SET_HINT_FN(guard(set_hint)),
            "drop_channel": _ffi.DROP_CHANNEL_FN(guard(drop)),
            "load_all_for_channel": _ffi.LOAD_CHANNEL_FN(guard(load)),
            "list_channels": _ffi.LIST_CHANNELS_FN(guard(list_channels)),
            "destroy": _ffi.DESTROY_FN(destroy),
        }
        for name, kind in self.KINDS.items():
            funcs[name] = _ffi.SAVE_RECORD_FN(guard(saver(name, kind)))
        for name, kind in self.REMOVES.items():
            funcs[name] = _ffi.REMOVE_RECORD_FN(guard(remover(name, kind)))
        for name, fn in funcs.items():
            setattr(vt, name, fn)
            keep.append(fn)
        self._keep = keep  # the CFUNCTYPE objects must outlive the manager
        return vt


class HostPersistenceTest(unittest.TestCase):
    def _manager(self, store: PyStore, rec: Recorder) -> tuple[int, object]:
        h = _ffi.new_manager(b"bob", 0, {}, _ffi.STORE_HOST, persistence=store.vtable())
        target = _ffi.CallbackTarget()
        target.event_handler = rec
        key = _ffi.register(target)
        _ffi.set_event_handler(h, key)
        self.addCleanup(_ffi.unregister, key)
        return h, target

    def test_python_vtable_round_trip(self) -> None:
        store = PyStore()
        alice = _ffi.new_manager(b"alice", 0, {}, _ffi.STORE_NONE)
        self.addCleanup(_ffi.free, alice)
        m1 = _ffi.wrap(alice, b"one", b"m1", b"room")
        m2 = _ffi.wrap(alice, b"two", b"m2", b"room")

        r1 = Recorder()
        bob, _t1 = self._manager(store, r1)
        self.assertEqual([d.message_id for d in _ffi.unwrap(bob, m2).missing_deps], [b"m1"])
        r1.wait(1)
        # libsds_str arrived by value, intact: channel and id as bytes.
        self.assertIn(("save_incoming", b"room", b"m2"), store.calls)
        _ffi.wrap(bob, b"mine", b"b1", b"room")
        self.assertIn(("append_log_entry", b"room", b"b1"), store.calls)
        self.assertIn(("save_lamport", b"room", b""), store.calls)
        # An id with NUL bytes crosses intact too.
        _ffi.unwrap(bob, craft(b"n\x00id", [], b"room"))
        self.assertIn(("append_log_entry", b"room", b"n\x00id"), store.calls)
        _ffi.free(bob)
        self.assertEqual(store.destroys, 1)
        self.assertEqual(store.errors, [])

        # Restart from the Python store: m1 releases the waiting m2, whose
        # content comes from the store.
        r2 = Recorder()
        bob2, _t2 = self._manager(store, r2)
        self.addCleanup(lambda: _ffi.free(bob2))
        self.assertIn(("load", b"room", b""), store.calls)
        self.assertEqual(_ffi.unwrap(bob2, m1).missing_deps, [])
        evs = r2.wait(2)
        self.assertEqual([e.message_id for e in evs], [b"m1", b"m2"])
        self.assertEqual([e.content for e in evs], [b"one", b"two"])
        self.assertNotIn(b"room", [k[0] for k in store.tables[_ffi.RECORD_INCOMING]])
        self.assertEqual(store.errors, [])


if __name__ == "__main__":
    unittest.main()
