#!/usr/bin/env python3
"""Writes the protocol seed corpus (fuzz/corpus/protocol/): one msgpack frame per request type
of docs/PROTOCOL.md, a reply and an error reply. Standard library only (a minimal msgpack
encoder), so it runs anywhere:  python3 fuzz/make_seeds.py
"""
import os
import struct


def pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if 0 <= v < 2**32:
            return b"\xce" + struct.pack(">I", v)
        if 0 <= v < 2**64:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        return (bytes([0xA0 | len(b)]) if len(b) < 32 else b"\xd9" + bytes([len(b)])) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        return bytes([0x90 | len(v)]) + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return bytes([0x80 | len(v)]) + b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(v)


def request(i, type_, body):
    return pack({"v": 1, "id": i, "type": type_, "body": body})


SEEDS = {
    "health": request(1, "health", {}),
    "tree_register_replay": request(2, "tree.register", {
        "name": "q", "content": "node_id,diameter_pt,gsm8k_pct\n0,1.0,50\n1,2.0,60\n",
        "file_name": "q.csv", "format": "auto", "queries": 10, "user": "alice"}),
    "tree_register_manifest": request(3, "tree.register", {
        "name": "demo", "manifest": "/srv/demo/tree.json", "format": "manifest",
        "tasks": [{"name": "quiz", "content": '{"prompt": "1+1?", "answer": "2", "grader": "exact"}\n',
                   "file_name": "quiz.jsonl"}, {"name": "gsm8k"}]}),
    "tree_list": request(4, "tree.list", None),
    "tree_show": request(5, "tree.show", {"name": "q"}),
    "search_start": request(6, "search.start", {
        "tree": "q", "task": "gsm8k", "method": "paper", "queries_per_model": 10,
        "seed": 2**63 + 5, "user": "bob"}),
    "search_status": request(7, "search.status", {"job": 12}),
    "search_watch": request(8, "search.watch", {"job": 12}),
    "search_cancel": request(9, "search.cancel", {"job": 12}),
    "search_resume": request(10, "search.resume", {"job": 12}),
    "search_result": request(11, "search.result", {"job": 12}),
    "search_list": request(12, "search.list", {"user": "bob", "state": "done"}),
    "cache_stats": request(13, "cache.stats", {}),
    "cache_export": request(14, "cache.export", {"tree": "q", "task": "gsm8k", "variant": 1}),
    "cache_import": request(15, "cache.import", {
        "tree": "q", "task": "gsm8k", "format": "csv", "content": b"model,q0\nm0,1\n",
        "file_name": "x.csv", "model": 0, "variant": 0}),
    "shutdown": request(16, "shutdown", {}),
    "reply_ok": pack({"v": 1, "id": 4, "type": "tree.list", "ok": True, "more": False,
                      "body": {"trees": []}}),
    "reply_error": pack({"v": 1, "id": 6, "type": "search.start", "ok": False,
                         "error": {"code": 11, "name": "PermissionDenied", "message": "no"}}),
    "reply_health": pack({"v": 1, "id": 1, "type": "health", "ok": True, "body": {
        "state": "ready", "pid": 42, "uptime_s": 1.5, "devices": ["cpu:0"], "role": "admin",
        "watchers": 3, "request_types": ["health"]}}),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "protocol")
    os.makedirs(out, exist_ok=True)
    for name, frame in SEEDS.items():
        with open(os.path.join(out, name + ".msgpack"), "wb") as f:
            f.write(frame)
