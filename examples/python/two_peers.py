"""Two peers, one chat: alice asks, then answers herself; bob receives the
answer first, yet shows both in causal order, each with its content.

Run from the repository root after `make lib`:
    SDS_LIBRARY_PATH=build/libsds.so PYTHONPATH=bridges/python/src python3 examples/python/two_peers.py
or anywhere after `pip install ./bridges/python` (or the wheel `make wheel` builds).
"""

from __future__ import annotations

import sys
import threading

import sds

view: list[str] = []  # bob's chat view: one line per MESSAGE_READY
both_shown = threading.Event()


def on_event(ev: sds.Event) -> None:  # runs on a library thread, one event at a time
    if ev.type is sds.EventType.MESSAGE_READY and ev.content is not None:
        view.append(f"{ev.message_id_str}: {ev.content.decode()}")
        if len(view) == 2:
            both_shown.set()


def main() -> int:
    with sds.ReliabilityManager("alice") as alice:
        question = alice.wrap(b"lunch?", "q1", "general")
        answer = alice.wrap(b"at noon", "a1", "general")  # cites q1

    with sds.ReliabilityManager("bob", on_event=on_event) as bob:
        waiting = bob.unwrap(answer)  # the network delivers the answer first
        print(f"{waiting.message_id_str} waits for {len(waiting.missing_deps)} message(s)")
        bob.unwrap(question)
        both_shown.wait(timeout=10)  # events arrive on a library thread; close drops undelivered ones

    print("\n".join(view))
    return 0 if view == ["q1: lunch?", "a1: at noon"] else 1


if __name__ == "__main__":
    sys.exit(main())
