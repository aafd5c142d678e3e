"""SDS-R: a repair request answered by a third participant's REPAIR_READY."""

from __future__ import annotations

import unittest

import sds
from sds import EventType as T
from sds_testutil import ManagerTest, Recorder, get, history_ids, sleep_ms


class RepairTest(ManagerTest):
    def test_repair_round_trip(self) -> None:
        cfg = sds.Config(repair_t_min=0.001, repair_t_max=0.02)
        ra, rb, rc = Recorder(), Recorder(), Recorder()
        alice = self.manager("alice", config=cfg, on_event=ra)
        bob = self.manager("bob", config=cfg, on_event=rb)
        carol = self.manager("carol", config=cfg, on_event=rc)

        m1 = alice.wrap(b"first", "m1", "grp")
        m2 = alice.wrap(b"second", "m2", "grp")
        carol.unwrap(m1)
        carol.unwrap(m2)
        rc.wait(2)
        # bob misses m1
        (dep,) = bob.unwrap(m2).missing_deps
        self.assertEqual((dep.message_id, dep.sender_id), (b"m1", b"alice"))
        rb.wait(1)

        # After T_req (< 20 ms) bob's next message asks for m1.
        sleep_ms(30)  # not synchronisation: T_req must pass on the clock
        b1 = bob.wrap(b"bob here", "b1", "grp")
        self.assertEqual(history_ids(b1, 13), [b"m1"])

        # carol holds m1 and answers after T_resp (< 20 ms).
        carol.unwrap(b1)
        sleep_ms(30)  # not synchronisation: T_resp must pass on the clock
        before = rc.count()
        carol.run_tasks(repair_sweep=True)
        ev = rc.wait_for(lambda e: e.type is T.REPAIR_READY)
        self.assertGreaterEqual(rc.events.index(ev), before)
        self.assertEqual(ev.channel_id, b"grp")
        self.assertEqual(ev.message_id, b"")
        self.assertIsInstance(ev.message, bytes)
        assert ev.message is not None
        self.assertEqual(get(ev.message, 1), b"m1")
        self.assertEqual(get(ev.message, 7), b"alice")  # still alice's message
        # Broadcasting it delivers m1 to bob, then the m2 it releases.
        nb = rb.count()
        u = bob.unwrap(ev.message)
        self.assertEqual(u.content, b"first")
        evs = rb.wait(nb + 2)
        self.assertEqual([(e.type, e.message_id) for e in evs[nb:]], [(T.MESSAGE_READY, b"m1"), (T.MESSAGE_READY, b"m2")])

        # The response is sent once.
        n = rc.count()
        carol.run_tasks(repair_sweep=True)
        self.assertEqual(rc.fence(carol), n)

    def test_no_participant_id_no_repair(self) -> None:
        cfg = sds.Config(repair_t_min=0.001, repair_t_max=0.002)
        alice = self.manager("alice", config=cfg)
        bob = self.manager(None, config=cfg)  # SDS-R off
        alice.wrap(b"1", "m1", "g")
        bob.unwrap(alice.wrap(b"2", "m2", "g"))
        sleep_ms(10)  # not synchronisation: a request would be due by now (T_req)
        self.assertEqual(history_ids(bob.wrap(b"b", "b1", "g"), 13), [])


if __name__ == "__main__":
    unittest.main()


class RepairBudgetTest(ManagerTest):
    def test_repair_dropped_when_the_queue_is_full(self) -> None:
        # bob misses four of alice's messages; his repair queue holds one.
        rb = Recorder()
        alice = self.manager("alice")
        bob = self.manager("bob", config=sds.Config(max_pending_repairs=1), on_event=rb)
        for i in range(4):
            alice.wrap(b"missed", f"m{i}", "grp")
        self.assertEqual(len(bob.unwrap(alice.wrap(b"late", "late", "grp")).missing_deps), 4)
        rb.wait(1 + 3)  # missing_dependencies, then three repair_dropped
        dropped = rb.of_type(sds.EventType.REPAIR_DROPPED)
        self.assertEqual(len(dropped), 3)
        self.assertTrue(all(e.channel_id == b"grp" for e in dropped))
