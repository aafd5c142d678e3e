#!/usr/bin/env python3
"""Replay nim-sds 0.4's recorded trace through a libsds.so's sds_* JSON ABI and record ours.

usage: replay_v04.py GOLDEN.jsonl LIBSDS.so OURS.jsonl [--run NAME]...

Reads the golden trace (tests/vectors/README-v04.md describes it), re-issues every call of its
runs in order -- the same function, context, callback and request JSON -- and writes our
callbacks in the same format, so compare.py can set the two side by side. Contexts are named as
in the golden step names (A..E); requests come verbatim from the golden `request` notes (the
unwrap requests carry nim-sds's own wire bytes). The hint provider returns a malloc'd
"hint-<messageId>" as the recording's did. Each run starts fresh contexts in this one process.

Per call it waits (up to 5 s) for the result callback when one is due; the events a call causes
come before its result on the same ordered queue, so they are recorded by then. A context the
golden run destroys keeps its stale pointer for the calls that follow ("destroy A again").
"""
import argparse, base64, ctypes, json, re, sys, threading

CB = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
HINT = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p),
                        ctypes.POINTER(ctypes.c_size_t), ctypes.c_void_p)
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]


class Recorder:
    def __init__(self, out):
        self.out, self.mu, self.seq, self.run, self.step = out, threading.RLock(), 0, "", ""
        self.caller = None
        self.pending = {}  # label -> threading.Event for the next result with that label

    def write(self, obj):
        with self.mu:
            line = {"run": self.run, "seq": self.seq, "step": self.step}
            line.update(obj)
            self.seq += 1
            self.out.write(json.dumps(line, ensure_ascii=True) + "\n")

    def note(self, what, detail):
        self.write({"kind": "note", "what": what, "detail": detail})

    def callback(self, kind, label, ret, msg, n):
        data = ctypes.string_at(msg, n) if msg else b""
        nul = bool(msg) and ctypes.string_at(msg + n, 1) == b"\0"
        self.write({"kind": kind, "label": label, "ret": ret, "msg_is_null": not msg, "len": n,
                    "on_caller_thread": threading.get_ident() == self.caller,
                    "payload": data.decode("latin-1"), "payload_b64": base64.b64encode(data).decode(),
                    "nul_terminated": nul})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("golden")
    ap.add_argument("lib")
    ap.add_argument("ours")
    ap.add_argument("--run", action="append", help="runs to replay (default: all)")
    a = ap.parse_args()
    golden = [json.loads(l) for l in open(a.golden, encoding="utf-8")]
    lib = ctypes.CDLL(a.lib)
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    lib.sds_create.restype = vp
    lib.sds_create.argtypes = [cp, CB, vp]
    lib.sds_set_event_callback.argtypes = [vp, CB, vp]
    lib.sds_set_retrieval_hint_provider.argtypes = [vp, HINT, vp]
    for f in ("sds_wrap_outgoing_message", "sds_unwrap_received_message", "sds_mark_dependencies_met"):
        getattr(lib, f).argtypes = [vp, CB, vp, cp]
    for f in ("sds_reset", "sds_start_periodic_tasks", "sds_destroy"):
        getattr(lib, f).argtypes = [vp, CB, vp]

    out = open(a.ours, "w", encoding="utf-8")
    rec = Recorder(out)
    labels = {}  # userData id -> label
    done = threading.Condition()
    results = {}  # label -> count of results seen

    def on_result(ret, msg, n, ud):
        label = labels[ud]
        rec.callback("result", label, ret, msg, n)
        with done:
            results[label] = results.get(label, 0) + 1
            done.notify_all()

    def on_event(ret, msg, n, ud):
        rec.callback("event", labels[ud], ret, msg, n)
        nested = reentrant_hook.get("fn")
        if nested:
            reentrant_hook["fn"] = None
            nested()

    def provider(mid, hint, hint_len, ud):
        name = labels[ud]
        rec.note("hint_provider_called", f"provider({name}) messageId={mid.decode('latin-1')}")
        text = b"hint-" + mid
        p = libc.malloc(len(text))
        ctypes.memmove(p, text, len(text))
        hint[0] = p
        hint_len[0] = len(text)

    c_result, c_event, c_hint = CB(on_result), CB(on_event), HINT(provider)
    reentrant_hook = {}
    uds = {}

    def ud_for(label):
        if label not in uds:
            uds[label] = len(uds) + 1
            labels[uds[label]] = label
        return uds[label]

    zeroed = ctypes.create_string_buffer(64)
    special = {"NULL": None, "garbage": 0xdeadbeef00, "zeroed": ctypes.addressof(zeroed)}

    def wait_result(label, before, timeout=5.0):
        with done:
            ok = done.wait_for(lambda: results.get(label, 0) > before, timeout)
        if not ok:
            rec.note("timeout", f"no result within {timeout:.0f} s")

    runs = a.run or ["main", "nullcb", "reentrant", "leak"]
    for run in runs:
        rec.run, rec.seq = run, 0
        ctx, dead = {}, {}
        steps = []
        for g in golden:
            if g["run"] != run:
                continue
            if not steps or steps[-1][0] != g["step"]:
                steps.append((g["step"], []))
            steps[-1][1].append(g)
        for step, lines in steps:
            rec.step = step
            rec.caller = threading.get_ident()
            notes = {l["what"]: l["detail"] for l in lines if l["kind"] == "note"}
            req = notes.get("request")
            reqb = None if req in (None, "(NULL)") else req.encode("utf-8", "surrogateescape")
            if req is not None:
                rec.note("request", req)
            name = step.split(": ", 1)[1] if step.startswith(run + ": ") else step
            m = re.match(r"(create|wrap|unwrap|mark deps|reset|start periodic|destroy|set hint provider) ?(\S*)", name)
            if "compare" in notes:
                cmp = notes["compare"].split()
                ours = [f"{c.split('==')[0]}=={c.split('==')[1].split(':')[0]}:"
                        f"{str(ctx.get(c[0]) is not None and ctx.get(c[0]) in (ctx.get(c[3]), dead.get(c[3]))).lower()}"
                        for c in cmp]
                rec.note("compare", " ".join(ours))
                continue
            if step in ("init", "end") or m is None:
                if "start" in notes:
                    rec.note("start", notes["start"])
                if "end" in notes:
                    rec.note("end", "done")
                continue
            verb, who = m.group(1), m.group(2)
            if "garbage (zeroed)" in name:
                who = "zeroed"
            elif "NULL ctx" in name or who == "NULL" and verb == "destroy":
                who = "NULL"
            elif "garbage ctx" in name:
                who = "garbage"
            elif who in special:
                who = ""  # "wrap NULL req", "unwrap garbage bytes": the default context

            def target(default):
                if who in special:
                    return special[who]
                after = re.search(r"after destroy ([A-E])", name)
                if after:
                    return dead.get(after.group(1))
                if re.fullmatch(r"[A-E]", who):
                    return ctx.get(who) or dead.get(who)
                return ctx.get(default)

            label = step
            ud = ud_for(label)
            before = results.get(label, 0)
            if verb == "create":
                if run == "nullcb":
                    p = lib.sds_create(b'{"participantId":"alice"}', CB(), None)
                    rec.note("sds_create_return", "NULL" if not p else "non-NULL")
                    continue
                p = lib.sds_create(reqb, c_result, ud)
                rec.note("sds_create_return", "NULL" if not p else "non-NULL")
                if p:
                    rec.note("sds_create_return_as_decimal", str(p))
                    wait_result(label, before)
                    if re.fullmatch(r"[A-E]", who):
                        ctx[who] = p
                        lib.sds_set_event_callback(p, c_event, ud_for(who))
                continue
            if verb == "set hint provider":
                rc = lib.sds_set_retrieval_hint_provider(target("A"), c_hint, ud_for(who))
                rec.note(f"sds_set_retrieval_hint_provider({who})", str(rc))
                continue
            fn = {"wrap": "sds_wrap_outgoing_message", "unwrap": "sds_unwrap_received_message",
                  "mark deps": "sds_mark_dependencies_met", "reset": "sds_reset",
                  "start periodic": "sds_start_periodic_tasks", "destroy": "sds_destroy"}[verb]
            default = {"wrap": "A", "unwrap": "B", "mark deps": "B", "reset": "B"}.get(verb, "A")
            c = target(default)
            null_cb = any(k.endswith("cb=NULL)") for k in notes)
            cb = CB() if null_cb else c_result
            if run == "reentrant" and verb == "start periodic":
                def nested():
                    rec.note("nested_call", "calling sds_wrap_outgoing_message on the same ctx from inside the event callback")
                    lib.sds_wrap_outgoing_message(c, c_result, ud_for("nested"),
                                                  b'{"message":[1],"messageId":"n1","channelId":"ch"}')
                reentrant_hook["fn"] = nested
            if fn in ("sds_reset", "sds_start_periodic_tasks", "sds_destroy"):
                rc = getattr(lib, fn)(c, cb, ud)
            else:
                rc = getattr(lib, fn)(c, cb, ud, reqb if reqb is not None or req == "(NULL)" else b"{}")
            key = next((k for k in notes if k.startswith(fn)), fn)
            rec.note(key, str(rc))
            if not null_cb:
                wait_result(label, before)
            if run == "reentrant" and verb == "start periodic":
                wait_result("nested", 0)
            if verb == "destroy" and rc == 0 and who in ctx:
                dead[who] = ctx.pop(who)
        # the contexts this run left live
        for who, p in ctx.items():
            lib.sds_destroy(p, CB(), None)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
