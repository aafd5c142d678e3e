#!/usr/bin/env python3
"""Compare two sds-abi traces after masking run-dependent values: the 0.3 traces
(tests/vectors/README.md) or the 0.4 JSON-ABI traces (tests/vectors/README-v04.md; detected by
their `run` key). For 0.4 traces a unit is `RUN/STEP` (e.g. `main/destroy A`); see load_v04.

usage: compare.py GOLDEN.jsonl OURS.jsonl [--allow SECTION]... [--allow-step N]...
                  [--allow-file FILE] [--max N]

Prints the first N differences (default 20) with their steps and sections, then a count of all.
Exit status 1 if any difference falls outside what is allowed, else 0. Allowed: a section name
(`15-cleanup`), a probe (`probe:null-ctx`), or a step number; an allow-file holds one of those
per line (`#` starts a comment). Lines are aligned with difflib, so an extra or
missing line shows up as one difference instead of shifting everything after it.
"""
import argparse, base64, difflib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from normalize import norm  # noqa: E402


def mask_lamport(wire):
    """The wire bytes with the top-level field 2 (lamport, a varint) replaced by 0."""
    out, i = bytearray(), 0
    try:
        while i < len(wire):
            start = i
            key = 0
            shift = 0
            while True:
                b = wire[i]
                key |= (b & 0x7F) << shift
                shift += 7
                i += 1
                if b < 0x80:
                    break
            wt = key & 7
            if wt == 0:
                vstart = i
                while wire[i] >= 0x80:
                    i += 1
                i += 1
                out += wire[start:vstart] + (b"\0" if key >> 3 == 2 else wire[vstart:i])
            elif wt == 2:
                n = shift = 0
                while True:
                    b = wire[i]
                    n |= (b & 0x7F) << shift
                    shift += 7
                    i += 1
                    if b < 0x80:
                        break
                i += n
                out += wire[start:i]
            else:
                return wire
    except IndexError:
        return wire
    return bytes(out)


def load_v04(objs):
    """0.4 trace lines, normalized: context addresses (create payloads, the decimal return) become
    <ctx>, wrap results get lamport 0, and within each step the callbacks keep their order but the
    notes (return values, requests, hint-provider calls) go after them, since whether a result
    comes before its function returns is timing. seq and the payload's latin-1 copy are dropped
    (payload_b64 is the exact bytes), and so is on_caller_thread, as the 0.3 lines' thread is:
    which thread runs a callback is a deliberate difference (a call delivers its own callbacks
    on the caller's thread; docs/compat.md), checked by tests/c/compat_ordering.c and
    compat_errors.c."""
    lines, units = [], []
    groups = []
    for o in objs:
        key = (o["run"], o["step"])
        if not groups or groups[-1][0] != key:
            groups.append((key, [], []))
        o = dict(o)
        o.pop("seq", None)
        o.pop("payload", None)
        o.pop("on_caller_thread", None)
        if o["kind"] == "note":
            if o["what"] == "sds_create_return_as_decimal":
                o["detail"] = "<ctx>"
            groups[-1][2].append(o)
            continue
        data = base64.b64decode(o["payload_b64"])
        if o["kind"] == "result" and o["ret"] == 0 and o["step"].split(": ")[-1].startswith("create") and data.isdigit():
            data = b"<ctx>"
        elif o["kind"] == "result" and o["ret"] == 0 and data.startswith(b'{"message":[') and data.endswith(b"]}") \
                and b"channelId" not in data:
            nums = data[len(b'{"message":['):-2]
            wire = bytes(int(x) for x in nums.split(b",")) if nums else b""
            data = b'{"message":[' + b",".join(str(x).encode() for x in mask_lamport(wire)) + b"]}"
        o["payload_b64"] = base64.b64encode(data).decode()
        o["len"] = len(data)
        groups[-1][1].append(o)
    for (run, step), calls, notes in groups:
        for o in calls + notes:
            lines.append(json.dumps(o, sort_keys=True, ensure_ascii=False))
            units.append((f"{run}/{step}", None))
    return lines, units


def load(path):
    objs = []
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        first = f.readline()
        f.seek(0)
        if first and "run" in json.loads(first):
            return load_v04([json.loads(raw) for raw in f])
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for raw in f:
            objs.append(norm(json.loads(raw)))
    # events and hint lines carry the step of the call they belong to; that call's line
    # (written after them) names the section
    section_of_step = {o["step"]: o.get("section") for o in objs if "op" in o and "step" in o}
    lines, units = [], []
    for o in objs:
        if o.get("end") is True:
            continue  # the footer only sums what the lines above already show
        step = o.get("step")
        section = section_of_step.get(step)
        o.pop("thread", None)
        o.pop("note", None)
        if isinstance(o.get("cb"), dict):
            o["cb"].pop("thread", None)
        o.pop("lib", None)
        lines.append(json.dumps(o, sort_keys=True, ensure_ascii=False))
        # a probe is its own unit: --allow probe:null-ctx accepts a deliberate difference there
        probe = o.get("args", {}).get("probe") if o.get("op") == "probe" else None
        units.append((f"probe:{probe}" if probe else section, step))
    return lines, units


def allowed_by(unit, allow, steps):
    section, step = unit
    return section in allow or (step is not None and str(step) in steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("golden")
    ap.add_argument("ours")
    ap.add_argument("--allow", action="append", default=[], help="section or probe:KIND whose differences are expected")
    ap.add_argument("--allow-step", action="append", default=[], help="step number whose differences are expected")
    ap.add_argument("--allow-file", help="file with one section, probe:KIND or step number per line")
    ap.add_argument("--max", type=int, default=20, help="how many differences to print")
    a = ap.parse_args()
    allow, steps = set(a.allow), set(a.allow_step)
    if a.allow_file:
        for line in open(a.allow_file):
            item = line.split("#", 1)[0].strip()
            if item.isdigit():
                steps.add(item)
            elif item:
                allow.add(item)
    g, gu = load(a.golden)
    o, ou = load(a.ours)
    sm = difflib.SequenceMatcher(a=g, b=o, autojunk=False)
    shown = bad = ok_count = 0
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            continue
        units = gu[i1:i2] + ou[j1:j2]
        ok = bool(units) and all(allowed_by(u, allow, steps) for u in units)
        ok_count += ok
        bad += not ok
        if shown < a.max:
            shown += 1
            where = sorted({f"{s}@{st}" for s, st in units}, key=str)
            print(f"--- {tag} golden[{i1}:{i2}] ours[{j1}:{j2}] at {where}{' (allowed)' if ok else ''}")
            for line in g[i1:i2][:3]:
                print("  golden:", line[:300])
            for line in o[j1:j2][:3]:
                print("  ours:  ", line[:300])
    print(f"{len(g)} golden lines, {len(o)} ours; {bad} unexpected differences, {ok_count} allowed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
