"""Config: None means the library default, a set field sets its config_set bit."""

from __future__ import annotations

import datetime
import unittest
from typing import Any

import sds
from sds_testutil import ManagerTest, history_ids


class ConfigConversionTest(unittest.TestCase):
    def test_empty_config_sets_nothing(self) -> None:
        self.assertEqual(sds.Config()._native(), (0, {}))

    def test_bits_and_units(self) -> None:
        bits, values = sds.Config(
            max_causal_history=0,
            resend_interval=1.5,
            sync_interval=datetime.timedelta(milliseconds=250),
            repair_t_min=0.0001,  # below 0.5 ms: 1 ms, never 0
            repair_t_max=0,
            bloom_error_rate=0.01,
            rerequest_repairs=False,
        )._native()
        self.assertEqual(bits, (1 << 3) | (1 << 4) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 1) | (1 << 16))
        self.assertEqual(
            values,
            {
                "max_causal_history": 0,
                "resend_interval_ms": 1500,
                "sync_interval_ms": 250,
                "repair_t_min_ms": 1,
                "repair_t_max_ms": 0,
                "bloom_error_rate": 0.01,
                "rerequest_repairs": 0,
            },
        )
        self.assertEqual(sds.Config(rerequest_repairs=True)._native(), (1 << 16, {"rerequest_repairs": 1}))
        self.assertEqual(sds.Config(sync_interval=0.007)._native()[1], {"sync_interval_ms": 7})

    def test_every_field_has_a_distinct_bit(self) -> None:
        import dataclasses

        seen = 0
        for f in dataclasses.fields(sds.Config):
            value: Any = True if f.name == "rerequest_repairs" else 1
            bits, _ = sds.Config(**{f.name: value})._native()
            self.assertEqual(bin(bits).count("1"), 1, f.name)
            self.assertFalse(seen & bits, f.name)
            seen |= bits
        self.assertEqual(seen, (1 << 28) - 1)  # bits 0-17, then the budgets, 18-27

    def test_type_errors(self) -> None:
        with self.assertRaises(TypeError):
            sds.Config(max_channels=True)._native()  # a bool is not a count
        with self.assertRaises(TypeError):
            sds.Config(sync_interval="1s")._native()  # type: ignore[arg-type]


class ConfigRangeTest(ManagerTest):
    def test_out_of_range_names_the_field(self) -> None:
        for config, field_name in [
            (sds.Config(bloom_capacity=2**32 - 1), "bloom_capacity"),  # used to abort the process
            (sds.Config(bloom_capacity=100_000_000), "bloom_capacity"),
            (sds.Config(max_id_length=0), "max_id_length"),
            (sds.Config(max_incoming_bytes=2**40 + 1), "max_incoming_bytes"),
            (sds.Config(max_causal_history=11, max_causal_entries=10), "max_causal_history"),
            (sds.Config(sync_interval=400 * 24 * 3600), "sync_interval"),
        ]:
            with self.subTest(field_name), self.assertRaises(sds.InvalidArgumentError) as cm:
                self.manager(config=config)
            self.assertIn(field_name, str(cm.exception))

    def test_budgets_apply(self) -> None:
        m = self.manager(config=sds.Config(max_id_length=4, max_channel_id_length=4))
        with self.assertRaises(sds.MessageTooLargeError):
            m.wrap(b"x", "12345", "ch")
        with self.assertRaises(sds.MessageTooLargeError):
            m.wrap(b"x", "id", "chann")
        peer = self.manager()
        with self.assertRaises(sds.MessageTooLargeError):
            m.unwrap(peer.wrap(b"x", "12345", "ch"))
        m.wrap(b"x", "1234", "ch")


class ConfigBehaviourTest(ManagerTest):
    def _missing_after_gap(self, config: sds.Config | None) -> int:
        sender = self.manager("alice", config=config)
        for i in range(3):
            sender.wrap(b"early", f"e{i}", "ch")
        late = sender.wrap(b"late", "late", "ch")
        fresh = self.manager()  # missed e0..e2
        return len(fresh.unwrap(late).missing_deps)

    def test_default_causal_history(self) -> None:
        self.assertEqual(self._missing_after_gap(None), 3)
        self.assertEqual(self._missing_after_gap(sds.Config()), 3)

    def test_explicit_zero_causal_history(self) -> None:
        # 0 is asked for explicitly: no causal history, so nothing is missing.
        self.assertEqual(self._missing_after_gap(sds.Config(max_causal_history=0)), 0)

    def test_small_causal_history(self) -> None:
        self.assertEqual(self._missing_after_gap(sds.Config(max_causal_history=2)), 2)
        m = self.manager(config=sds.Config(max_causal_history=1))
        m.wrap(b"1", "a", "c")
        m.wrap(b"2", "b", "c")
        self.assertEqual(history_ids(m.wrap(b"3", "c", "c")), [b"b"])


class WireGenerationTest(ManagerTest):
    def test_each_generation_writes_its_layout_and_reads_the_other(self) -> None:
        self.assertEqual(sds.Config(wire_generation=sds.WireGeneration.V04)._native(), (1 << 17, {"wire_generation": 1}))
        new = self.manager("alice", config=sds.Config(wire_generation=sds.WireGeneration.V04))
        old = self.manager("bob")  # the default writes 0.3
        n1, n2 = new.wrap(b"1", "n1", "c"), new.wrap(b"2", "n2", "c")
        o1, o2 = old.wrap(b"1", "o1", "c"), old.wrap(b"2", "o2", "c")
        # 0.4 cites the plain id (1a 02 "n1") and adds field 8 (0x42) for its sender
        self.assertIn(b"\x1a\x02n1", n2)
        self.assertIn(b"\x42", n2[n2.index(b"alice") :])
        # 0.3 nests a HistoryEntry (1a 09 0a 02 "o1" 1a 03 "bob")
        self.assertIn(b"\x1a\x09\x0a\x02o1\x1a\x03bob", o2)
        for reader, first, second in ((old, n1, n2), (new, o1, o2)):
            reader.unwrap(first)
            self.assertEqual(reader.unwrap(second).missing_deps, [])

    def test_unknown_generation_is_rejected_naming_the_field(self) -> None:
        with self.assertRaises(sds.InvalidArgumentError) as cm:
            self.manager(config=sds.Config(wire_generation=2))
        self.assertIn("wire_generation", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
