"""The exception type (and message) for each status."""

from __future__ import annotations

import os
import tempfile
import unittest

import sds
from sds import _errors
from sds_testutil import ManagerTest


class StatusMappingTest(unittest.TestCase):
    def test_every_status_has_its_class(self) -> None:
        expected = {
            -1: sds.UnspecifiedError,
            -2: sds.InvalidHandleError,
            -3: sds.InvalidArgumentError,
            -4: sds.MessageTooLargeError,
            -5: sds.DecodeError,
            -6: sds.UnknownChannelError,
            -7: sds.TooManyChannelsError,
            -8: sds.StoreError,
            -9: sds.UnsupportedError,
            -10: sds.ReentrantCallError,
            -11: sds.ClosedError,
            -12: sds.InternalError,
            -13: sds.UserError,
        }
        for status, cls in expected.items():
            with self.assertRaises(cls) as cm:
                sds.raise_for_status(status, "why")
            e = cm.exception
            self.assertIs(type(e), cls)
            self.assertIsInstance(e, sds.SdsError)
            self.assertEqual(e.status, status)
            self.assertEqual(e.message, "why")
            self.assertEqual(str(e), "why")
            self.assertEqual(cls.STATUS, status)
        sds.raise_for_status(0, "fine")  # OK raises nothing
        e = sds.error_for_status(-99, "future")
        self.assertIs(type(e), sds.SdsError)
        self.assertEqual(str(sds.error_for_status(-5)), "libsds status -5")

    def test_value_error_family(self) -> None:
        values: tuple[type[sds.SdsError], ...] = (sds.InvalidArgumentError, sds.MessageTooLargeError, sds.DecodeError, sds.ClosedError)
        for cls in values:
            self.assertTrue(issubclass(cls, ValueError), cls)
        others: tuple[type[sds.SdsError], ...] = (sds.StoreError, sds.ReentrantCallError, sds.UnknownChannelError)
        for cls in others:
            self.assertFalse(issubclass(cls, ValueError), cls)

    def test_status_values_match_the_library(self) -> None:
        for name in dir(_errors):
            if name.startswith("ERR"):
                status = getattr(_errors, name)
                self.assertTrue(sds.status_str(status).startswith("LIBSDS_" + name + ":"), (name, sds.status_str(status)))


class CallErrorsTest(ManagerTest):
    def test_empty_content(self) -> None:
        m = self.manager("alice")
        with self.assertRaises(sds.InvalidArgumentError) as cm:
            m.wrap(b"", "m1", "ch")
        self.assertEqual(cm.exception.status, -3)
        self.assertIn("empty content", str(cm.exception))  # from libsds_last_error()

    def test_too_large(self) -> None:
        m = self.manager("alice")
        m.wrap(b"a" * sds.MAX_CONTENT_SIZE, "max", "ch")  # exactly 1 MiB is fine
        with self.assertRaises(sds.MessageTooLargeError) as cm:
            m.wrap(b"a" * (sds.MAX_CONTENT_SIZE + 1), "over", "ch")
        self.assertEqual(cm.exception.status, -4)
        with self.assertRaises(sds.MessageTooLargeError):
            m.unwrap(b"\x00" * (sds.MAX_WIRE_SIZE + 1))

    def test_garbage(self) -> None:
        m = self.manager()
        for data in (b"garbage", b"\xff" * 10, b""):
            with self.assertRaises(sds.DecodeError, msg=data) as cm:
                m.unwrap(data)
            self.assertEqual(cm.exception.status, -5)
            self.assertTrue(cm.exception.message)

    def test_unknown_channel(self) -> None:
        m = self.manager()
        with self.assertRaises(sds.UnknownChannelError) as cm:
            m.mark_dependencies_met([b"x"], "nowhere")
        self.assertIn("nowhere", str(cm.exception))

    def test_invalid_ids(self) -> None:
        m = self.manager()
        with self.assertRaises(sds.InvalidArgumentError):
            m.wrap(b"x", "m", "")  # empty channel: the library says no
        with self.assertRaisesRegex(sds.InvalidArgumentError, "NUL"):
            m.wrap(b"x", "m", "a\x00b")  # would be truncated by C: refused before the call
        with self.assertRaisesRegex(sds.InvalidArgumentError, "NUL"):
            m.wrap(b"x", b"m\x00", "ch")
        with self.assertRaises(sds.InvalidArgumentError):
            sds.ReliabilityManager("al\x00ice")

    def test_too_many_channels(self) -> None:
        m = self.manager(config=sds.Config(max_channels=1))
        m.wrap(b"x", "m1", "one")
        with self.assertRaises(sds.TooManyChannelsError):
            m.wrap(b"x", "m2", "two")

    def test_bad_config_values(self) -> None:
        library_side = [
            (sds.Config(bloom_error_rate=1.5), "BloomErrorRate"),
            (sds.Config(bloom_capacity=0), "BloomCapacity"),
            (sds.Config(repair_t_min=2, repair_t_max=1), "RepairTMax"),
            (sds.Config(sync_interval=0), "SyncInterval"),
            (sds.Config(resend_interval=-1), "interval"),
            (sds.Config(max_channels=0), "MaxChannels"),
        ]
        for config, word in library_side:
            with self.assertRaises(sds.InvalidArgumentError, msg=config) as cm:
                sds.ReliabilityManager(config=config)
            self.assertEqual(cm.exception.status, -3)
            self.assertIn(word, str(cm.exception))
        bridge_side = [
            sds.Config(max_causal_history=-1),  # would wrap around in a uint32
            sds.Config(max_channels=2**32),
            sds.Config(sync_interval=float("nan")),
            sds.Config(sync_interval=float("inf")),
        ]
        for config in bridge_side:
            with self.assertRaises(sds.InvalidArgumentError, msg=config):
                sds.ReliabilityManager(config=config)
        with self.assertRaises(TypeError):
            sds.ReliabilityManager(config=sds.Config(max_channels="3"))  # type: ignore[arg-type]
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(sds.InvalidArgumentError):
                sds.ReliabilityManager(sqlite_path=os.path.join(d, "s.db"), durability=7)  # unknown durability

    def test_sqlite_in_missing_directory(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "no", "such", "dir", "state.db")
            with self.assertRaises(sds.StoreError) as cm:
                sds.ReliabilityManager("alice", sqlite_path=path)
            self.assertEqual(cm.exception.status, -8)
            self.assertIn("state.db", str(cm.exception))
            self.assertFalse(os.path.exists(os.path.join(d, "no")))

    def test_namespace_needs_a_path(self) -> None:
        with self.assertRaises(sds.InvalidArgumentError):
            sds.ReliabilityManager("alice", sqlite_namespace="ns")

    def test_last_error_is_per_call(self) -> None:
        m = self.manager()
        with self.assertRaises(sds.DecodeError) as first:
            m.unwrap(b"garbage")
        with self.assertRaises(sds.UnknownChannelError) as second:
            m.mark_dependencies_met([b"x"], "c")
        self.assertNotEqual(first.exception.message, second.exception.message)


if __name__ == "__main__":
    unittest.main()
