"""The retrieval-hint provider: a C callback taking libsds_str by value."""

from __future__ import annotations

import threading
import unittest

import sds
from sds_testutil import ManagerTest, Recorder, UnraisableCatcher, craft, history_hints, history_ids


class HintTest(ManagerTest):
    def test_hint_reaches_the_receivers_missing_deps(self) -> None:
        calls: list[tuple[bytes, int]] = []

        def provider(mid: bytes) -> bytes:
            calls.append((mid, threading.get_ident()))
            return b"hint:" + mid

        rb = Recorder()
        a = self.manager("alice", hint_provider=provider)
        b = self.manager(on_event=rb)
        a.wrap(b"one", "m1", "h")
        self.assertEqual(calls, [])  # nothing to cite yet
        m2 = a.wrap(b"two", "m2", "h")
        self.assertEqual([c[0] for c in calls], [b"m1"])
        # Synchronous, on the caller's thread.
        self.assertEqual(calls[0][1], threading.get_ident())
        self.assertEqual(history_hints(m2), [b"hint:m1"])
        (dep,) = b.unwrap(m2).missing_deps
        self.assertEqual(dep.message_id, b"m1")
        self.assertEqual(dep.retrieval_hint, b"hint:m1")
        self.assertEqual(rb.wait(1)[0].missing_deps[0].retrieval_hint, b"hint:m1")
        # m3 cites m1 and m2, one call each, in citation order.
        calls.clear()
        m3 = a.wrap(b"three", "m3", "h")
        self.assertEqual([c[0] for c in calls], [b"m1", b"m2"])
        self.assertEqual(history_hints(m3), [b"hint:m1", b"hint:m2"])

    def test_big_hint(self) -> None:
        big = bytes(range(256)) * 7 + b"\x00" * 208  # 2000 bytes, NULs included
        self.assertEqual(len(big), 2000)
        calls: list[bytes] = []

        def provider(mid: bytes) -> bytes:
            calls.append(mid)
            return big

        a = self.manager("alice", hint_provider=provider)
        b = self.manager()
        a.wrap(b"1", "c1", "h")
        c2 = a.wrap(b"2", "c2", "h")
        self.assertEqual(history_hints(c2), [big])
        self.assertEqual(b.unwrap(c2).missing_deps[0].retrieval_hint, big)
        # The library asks again with a big enough buffer; the bridge answers
        # that from the first answer instead of calling the provider twice.
        self.assertEqual(calls, [b"c1"])

    def test_no_hint(self) -> None:
        for answer in (None, b"", bytearray(), memoryview(b"")):
            a = self.manager(hint_provider=lambda mid, answer=answer: answer)
            a.wrap(b"1", "c1", "h")
            c2 = a.wrap(b"2", "c2", "h")
            self.assertEqual(history_hints(c2), [None], answer)
        a = self.manager(hint_provider=lambda mid: bytearray(b"ba"))
        a.wrap(b"1", "c1", "h")
        self.assertEqual(history_hints(a.wrap(b"2", "c2", "h")), [b"ba"])

    def test_provider_exception_goes_to_unraisablehook(self) -> None:
        def provider(mid: bytes) -> bytes:
            raise KeyError(mid)

        a = self.manager("alice", hint_provider=provider)
        with UnraisableCatcher() as catcher:
            a.wrap(b"1", "c1", "h")
            c2 = a.wrap(b"2", "c2", "h")  # still succeeds, without a hint
            (seen,) = catcher.wait(1)
        self.assertIs(seen[0], KeyError)
        self.assertEqual(seen[1].args, (b"c1",))
        self.assertIn("hint provider", repr(seen[3]))
        self.assertEqual(history_ids(c2), [b"c1"])
        self.assertEqual(history_hints(c2), [None])

    def test_provider_returning_a_wrong_type(self) -> None:
        a = self.manager(hint_provider=lambda mid: 5)  # bytes(5) would be 5 NULs: refused
        with UnraisableCatcher() as catcher:
            a.wrap(b"1", "c1", "h")
            c2 = a.wrap(b"2", "c2", "h")
            (seen,) = catcher.wait(1)
        self.assertIs(seen[0], TypeError)
        self.assertEqual(history_hints(c2), [None])

    def test_reentrant_call_from_the_provider(self) -> None:
        captured: list[BaseException] = []
        results: list[object] = []

        def provider(mid: bytes) -> bytes:
            for call in (lambda: a.wrap(b"inner", "inner", "h"), a.reset, lambda: a.set_hint_provider(None), a.close):
                try:
                    results.append(call())
                except BaseException as e:
                    captured.append(e)
            return b"ok"

        a = self.manager("alice", hint_provider=provider)
        a.wrap(b"1", "c1", "h")
        c2 = a.wrap(b"2", "c2", "h")  # the outer call succeeds
        self.assertEqual(results, [])
        self.assertEqual(len(captured), 4, captured)
        for e in captured:
            assert isinstance(e, sds.ReentrantCallError), e
            self.assertEqual(e.status, -10)
        self.assertEqual(history_hints(c2), [b"ok"])
        self.assertFalse(a.closed)  # close() from inside the provider was refused
        self.assertEqual(history_ids(c2), [b"c1"])
        # The provider is still installed (set_hint_provider(None) was refused).
        self.assertEqual(history_hints(a.wrap(b"3", "c3", "h")), [b"ok", b"ok"])

    def test_other_manager_from_the_provider(self) -> None:
        other = self.manager()
        inner: list[bytes] = []

        def provider(mid: bytes) -> bytes:
            inner.append(other.wrap(b"side", b"side-" + mid, "other"))
            return b"h"

        a = self.manager(hint_provider=provider)
        a.wrap(b"1", "c1", "h")
        a.wrap(b"2", "c2", "h")
        self.assertEqual(len(inner), 1)

    def test_ids_with_nul_bytes_reach_the_provider(self) -> None:
        # The id travels to the provider as a libsds_str by value: its length
        # must survive the trip through ctypes, embedded NUL included.
        seen: list[bytes] = []
        def provider(mid: bytes) -> bytes:
            seen.append(mid)
            return b"h:" + mid

        a = self.manager(hint_provider=provider)
        a.unwrap(craft(b"w\x00w", [], b"nul"))
        wire = a.wrap(b"reply", "r1", "nul")
        self.assertEqual(seen, [b"w\x00w"])
        self.assertEqual(history_ids(wire), [b"w\x00w"])
        self.assertEqual(history_hints(wire), [b"h:w\x00w"])

    def test_remove_provider(self) -> None:
        calls: list[bytes] = []
        def provider(mid: bytes) -> bytes:
            calls.append(mid)
            return b"x"

        a = self.manager(hint_provider=provider)
        a.wrap(b"1", "c1", "h")
        a.wrap(b"2", "c2", "h")
        a.set_hint_provider(None)
        c3 = a.wrap(b"3", "c3", "h")
        self.assertEqual(calls, [b"c1"])
        self.assertEqual(history_hints(c3), [None, None])


if __name__ == "__main__":
    unittest.main()
