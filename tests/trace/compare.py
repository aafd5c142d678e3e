#!/usr/bin/env python3
"""Compare two sds-abi traces (format: tests/vectors/README.md) after masking clock-derived bytes.

usage: compare.py GOLDEN.jsonl OURS.jsonl [--allow SECTION]... [--allow-step N]...
                  [--allow-file FILE] [--max N]

Prints the first N differences (default 20) with their steps and sections, then a count of all.
Exit status 1 if any difference falls outside what is allowed, else 0. Allowed: a section name
(`15-cleanup`), a probe (`probe:null-ctx`), or a step number; an allow-file holds one of those
per line (`#` starts a comment). Lines are aligned with difflib, so an extra or
missing line shows up as one difference instead of shifting everything after it.
"""
import argparse, difflib, json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from normalize import norm  # noqa: E402


def load(path):
    objs = []
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
