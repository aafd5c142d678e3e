"""Persistence with the bundled SQLite store."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import unittest

import sds
from sds import EventType as T
from sds_testutil import ManagerTest, Recorder, history_ids, lamport


class SqliteTest(ManagerTest):
    def setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.path = os.path.join(tmp.name, "state.db")

    def test_state_survives_close_and_reopen(self) -> None:
        alice = self.manager("alice")
        m1 = alice.wrap(b"first", "m1", "room")
        m2 = alice.wrap(b"second", "m2", "room")

        rb = Recorder()
        with sds.ReliabilityManager("bob", sqlite_path=self.path, on_event=rb) as bob:
            self.assertEqual([d.message_id for d in bob.unwrap(m2).missing_deps], [b"m1"])
            rb.wait(1)
            wires = [bob.wrap(b"b%d" % i, f"b{i}", "room") for i in range(20)]
            before = lamport(wires[-1])
        self.assertTrue(os.path.exists(self.path))

        rb2 = Recorder()
        with sds.ReliabilityManager("bob", sqlite_path=self.path, on_event=rb2) as bob:
            # m2 was waiting before the restart; m1 releases it, in causal
            # order, with m2's content from the store.
            self.assertEqual(bob.unwrap(m1).missing_deps, [])
            evs = rb2.wait(2)
            self.assertEqual([(e.type, e.message_id) for e in evs], [(T.MESSAGE_READY, b"m1"), (T.MESSAGE_READY, b"m2")])
            self.assertEqual(evs[1].content, b"second")
            after = bob.wrap(b"again", "b-after", "room")
            # The lamport clock went on from where it was ...
            self.assertGreater(lamport(after), before)
            # ... and the log survived: the new message cites messages from before.
            self.assertIn(b"b19", history_ids(after))
        # A manager without the store starts from the clock (control: the
        # assertion above can fail).
        with sds.ReliabilityManager("bob") as fresh:
            self.assertLess(lamport(fresh.wrap(b"x", "x", "room")), before)

    def test_two_namespaces_in_one_file(self) -> None:
        alice = self.manager("alice")
        m1 = alice.wrap(b"first", "m1", "ch")
        m2 = alice.wrap(b"second", "m2", "ch")

        r1, r2 = Recorder(), Recorder()
        one = sds.ReliabilityManager("bob", sqlite_path=self.path, sqlite_namespace="one", on_event=r1)
        two = sds.ReliabilityManager("bob", sqlite_path=self.path, sqlite_namespace="two", on_event=r2)
        with one, two:
            self.assertEqual(len(one.unwrap(m2).missing_deps), 1)  # one waits for m1
            two.unwrap(m1)
            two.unwrap(m2)  # two has both
            r1.wait(1)
            r2.wait(2)

        r1, r2 = Recorder(), Recorder()
        one = sds.ReliabilityManager("bob", sqlite_path=self.path, sqlite_namespace="one", on_event=r1)
        two = sds.ReliabilityManager("bob", sqlite_path=self.path, sqlite_namespace="two", on_event=r2)
        with one, two:
            # two delivered both already: m2 again is a duplicate, no event.
            two.unwrap(m2)
            # one still waits: m1 releases m2.
            one.unwrap(m1)
            evs = r1.wait(2)
            self.assertEqual([e.message_id for e in evs], [b"m1", b"m2"])
            self.assertEqual([e.content for e in evs], [b"first", b"second"])
            self.assertEqual(r2.fence(two), 0)
            self.assertEqual(history_ids(two.wrap(b"t", "t1", "ch")), [b"m1", b"m2"])
        # Both live in one SQLite file.
        con = sqlite3.connect(self.path)
        try:
            self.assertTrue(con.execute("select count(*) from sqlite_master").fetchone()[0] > 0)
        finally:
            con.close()

    def test_default_namespace_is_the_participant_id(self) -> None:
        alice = self.manager("alice")
        alice.wrap(b"1", "m1", "ch")
        m2 = alice.wrap(b"2", "m2", "ch")
        with sds.ReliabilityManager("bob", sqlite_path=self.path) as bob:
            bob.unwrap(m2)
        r = Recorder()
        with sds.ReliabilityManager("carol", sqlite_path=self.path, on_event=r) as carol:
            # carol's namespace is empty: she does not know channel "ch".
            with self.assertRaises(sds.UnknownChannelError):
                carol.mark_dependencies_met([b"m1"], "ch")
        r = Recorder()
        with sds.ReliabilityManager("bob", sqlite_path=self.path, on_event=r) as bob:
            bob.mark_dependencies_met([b"m1"], "ch")
            self.assertEqual(r.wait(1)[0].message_id, b"m2")

    def test_full_durability_and_pathlike(self) -> None:
        import pathlib

        with sds.ReliabilityManager("a", sqlite_path=pathlib.Path(self.path), durability=sds.Durability.FULL) as m:
            m.wrap(b"x", "m1", "ch")
        with sds.ReliabilityManager("a", sqlite_path=self.path) as m:
            self.assertIn(b"m1", history_ids(m.wrap(b"y", "m2", "ch")))

    def test_reset_clears_the_store(self) -> None:
        with sds.ReliabilityManager("a", sqlite_path=self.path) as m:
            m.wrap(b"x", "m1", "ch")
            m.reset()
        with sds.ReliabilityManager("a", sqlite_path=self.path) as m:
            self.assertEqual(history_ids(m.wrap(b"y", "m2", "ch")), [])


if __name__ == "__main__":
    unittest.main()
