#!/usr/bin/env python3
"""Collects scripts/bench.sh's per-scenario figures into one JSON file and,
for a full run, the tables and plots of docs/benchmarks.md.

    report.py OUT_DIR RESULT.json [--no-doc | --doc docs/benchmarks.md --img docs/img]

OUT_DIR holds SERVER/SCENARIO.json files. The JSON keeps every figure under
"peers" → server → scenario. Ratios are Tessera ÷ peer of the same figure from
the same run; the tables say for each figure whether higher or lower is better.
The doc's text outside the results markers is written by hand and kept.
"""
import datetime
import json
import os
import platform
import sys

SERVERS = ["tessera", "y-websocket", "hocuspocus", "y-sweet", "tessera-s3"]
PEERS = ["y-websocket", "hocuspocus", "y-sweet"]
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load(out_dir):
    peers = {}
    for server in sorted(os.listdir(out_dir)):
        d = os.path.join(out_dir, server)
        for f in sorted(os.listdir(d)):
            with open(os.path.join(d, f)) as fh:
                text = fh.read().strip()
            try:
                value = json.loads(text) if text else {"error": "no output"}
            except json.JSONDecodeError:
                value = {"error": "unreadable output"}
            peers.setdefault(server, {})[f[:-5]] = value
    return peers


def get(peers, server, key, *path):
    v = peers.get(server, {}).get(key)
    for p in path:
        if not isinstance(v, dict):
            return None
        v = v.get(p)
    return v if isinstance(v, (int, float)) else None


# (title, scenario key, path, unit, better, tessera's scenario key if different)
METRICS = [
    ("Fan-out N=1: updates/s", "fanout_1", ("saturated", "updates_per_s"), "/s", "higher", None),
    ("Fan-out N=10: updates/s", "fanout_10", ("saturated", "updates_per_s"), "/s", "higher", None),
    ("Fan-out N=100: updates/s", "fanout_100", ("saturated", "updates_per_s"), "/s", "higher", None),
    ("Fan-out N=1: p50 latency (100/s)", "fanout_1", ("paced", "latency_ms", "p50"), "ms", "lower", None),
    ("Fan-out N=1: p99 latency (100/s)", "fanout_1", ("paced", "latency_ms", "p99"), "ms", "lower", None),
    ("Fan-out N=10: p99 latency (100/s)", "fanout_10", ("paced", "latency_ms", "p99"), "ms", "lower", None),
    ("Fan-out N=100: p50 latency (100/s)", "fanout_100", ("paced", "latency_ms", "p50"), "ms", "lower", None),
    ("Fan-out N=100: p99 latency (100/s)", "fanout_100", ("paced", "latency_ms", "p99"), "ms", "lower", None),
    ("Fan-out N=100: p99 latency saturated", "fanout_100", ("saturated", "latency_ms", "p99"), "ms", "lower", None),
    ("1k docs: RSS per doc", "manydocs_1000", ("rss_per_doc_bytes",), "B", "lower", None),
    ("10k docs: RSS per doc", "manydocs_10000", ("rss_per_doc_bytes",), "B", "lower", None),
    ("10k docs: RSS per doc (Tessera: one vault socket)", "manydocs_10000", ("rss_per_doc_bytes",), "B", "lower", "manydocs_10000_one_socket"),
    ("10k docs: peak RSS", "manydocs_10000", ("server_peak_rss_kib",), "KiB", "lower", None),
    ("10k docs: p50 connect", "manydocs_10000", ("connect_ms", "p50"), "ms", "lower", None),
    ("10k docs: p99 connect", "manydocs_10000", ("connect_ms", "p99"), "ms", "lower", None),
    ("10k docs: all loaded", "manydocs_10000", ("load_seconds",), "s", "lower", None),
    ("Replay (40k keystrokes): total time", "replay", ("seconds",), "s", "lower", None),
    ("Replay (40k keystrokes): server CPU", "replay", ("server_cpu_s",), "s", "lower", None),
    ("Many docs 10k: server CPU", "manydocs_10000", ("server_cpu_s",), "s", "lower", None),
    ("Cold sync 10k notes: time", "vaultsync", ("cold", "seconds"), "s", "lower", None),
    ("Cold sync 10k notes: bytes", "vaultsync", ("cold", "bytes"), "B", "lower", None),
    ("Warm resync, 0 changed: time", "vaultsync", ("warm_0", "ms"), "ms", "lower", None),
    ("Warm resync, 0 changed: bytes", "vaultsync", ("warm_0", "bytes"), "B", "lower", None),
    ("Warm resync, 10 changed: time", "vaultsync", ("warm_k", "ms"), "ms", "lower", None),
    ("Warm resync, 10 changed: bytes", "vaultsync", ("warm_k", "bytes"), "B", "lower", None),
    ("Ack latency p50 @1k/s", "ack", ("latency_ms", "p50"), "ms", "lower", None),
    ("Ack latency p99 @1k/s", "ack", ("latency_ms", "p99"), "ms", "lower", None),
]


def fmt(v, unit):
    if v is None:
        return "–"
    if unit == "B" and v >= 10_000:
        return f"{v / 1024:,.0f} KiB" if v < 10_000_000 else f"{v / 1048576:,.1f} MiB"
    if abs(v) >= 100:
        return f"{v:,.0f} {unit}".strip()
    if abs(v) >= 1:
        return f"{v:.2f} {unit}".strip()
    return f"{v:.3f} {unit}".strip()


def ratios(peers):
    out = {}
    for title, key, path, unit, better, tkey in METRICS:
        t = get(peers, "tessera", tkey or key, *path)
        row = {}
        for p in PEERS:
            v = get(peers, p, key, *path)
            if t is not None and v:
                row[p] = round(t / v, 3)
        out[title] = {"better": better, "tessera": t, "tessera_over": row}
    return out


def goals(peers, r):
    def ratio(title, peer):
        return r.get(title, {}).get("tessera_over", {}).get(peer)

    res = []
    fy, fs = ratio("Fan-out N=100: updates/s", "y-websocket"), ratio("Fan-out N=100: updates/s", "y-sweet")
    res.append(("Fan-out N=100 ≥ 5× y-websocket updates/s", fy is not None and fy >= 5, fy and f"{fy:.2f}×"))
    res.append(("Fan-out N=100 ≥ 2× y-sweet updates/s", fs is not None and fs >= 2, fs and f"{fs:.2f}×"))
    p99 = [ratio("Fan-out N=100: p99 latency (100/s)", p) for p in PEERS]
    p99 = [x for x in p99 if x is not None]
    res.append(("Fan-out p99 latency below every peer (N=100, paced)", bool(p99) and max(p99) < 1,
                p99 and "Tessera ÷ peer: " + ", ".join(f"{x:.2f}" for x in p99)))
    rss_t = get(peers, "tessera", "manydocs_10000", "rss_per_doc_bytes")
    rss_p = [get(peers, p, "manydocs_10000", "rss_per_doc_bytes") for p in PEERS]
    rss_p = [x for x in rss_p if x]
    best = min(rss_p) if rss_p else None
    res.append(("RSS per idle small doc ≤ ¼ of the best peer (10k docs, socket each)",
                rss_t is not None and best is not None and rss_t <= best / 4,
                best and f"{rss_t:.0f} B vs best peer {best:.0f} B ({rss_t / best:.2f}×)"))
    cold = get(peers, "tessera", "vaultsync", "cold", "seconds")
    res.append(("10k-note cold sync ≤ 3 s", cold is not None and cold <= 3, cold and f"{cold:.2f} s"))
    wt, wb = get(peers, "tessera", "vaultsync", "warm_0", "ms"), get(peers, "tessera", "vaultsync", "warm_0", "bytes")
    res.append(("Warm resync, no changes ≤ 50 ms and ≤ 2 KB", wt is not None and wb is not None and wt <= 50 and wb <= 2048,
                wt is not None and wb is not None and f"{wt:.1f} ms, {wb:.0f} B"))
    return [{"goal": g, "met": bool(m), "value": v or "–"} for g, m, v in res]


def tables(peers, r, goal_list):
    lines = []
    cols = ["tessera"] + PEERS
    lines.append("| figure | better | " + " | ".join(cols) + " | " + " | ".join(f"T ÷ {p}" for p in PEERS) + " |")
    lines.append("|---" * (2 + len(cols) + len(PEERS)) + "|")
    for title, key, path, unit, better, tkey in METRICS:
        vals = [get(peers, "tessera", tkey or key, *path)] + [get(peers, p, key, *path) for p in PEERS]
        rs = [r[title]["tessera_over"].get(p) for p in PEERS]
        lines.append(f"| {title} | {better} | " + " | ".join(fmt(v, unit) for v in vals) + " | "
                     + " | ".join("–" if x is None else f"{x:.2f}" for x in rs) + " |")
    lines.append("")
    extra = []
    for title, key, path, unit in [
        ("Tessera with SeaweedFS (S3): fan-out N=100 updates/s", "fanout_100", ("saturated", "updates_per_s"), "/s"),
        ("Tessera with SeaweedFS (S3): ack p50 @1k/s", "ack", ("latency_ms", "p50"), "ms"),
        ("Tessera with SeaweedFS (S3): ack p99 @1k/s", "ack", ("latency_ms", "p99"), "ms"),
        ("Tessera with SeaweedFS (S3): cold sync 10k notes", "vaultsync", ("cold", "seconds"), "s"),
        ("Tessera doc endpoint, one socket per note: cold sync 10k", "vaultsync_socket_per_doc", ("cold", "seconds"), "s"),
        ("Tessera doc endpoint, one socket per note: warm resync, 0 changed", "vaultsync_socket_per_doc", ("warm_0", "ms"), "ms"),
    ]:
        server = "tessera-s3" if "S3" in title else "tessera"
        v = get(peers, server, key, *path)
        if v is not None:
            extra.append(f"| {title} | {fmt(v, unit)} |")
    if extra:
        lines += ["| other Tessera figures | value |", "|---|---|"] + extra + [""]
    for s, d in peers.items():
        v = d.get("vaultsync") or {}
        if v.get("cold_notes_wrong"):
            lines.append(f"- {s}: cold sync left {v['cold_notes_wrong']} notes incomplete")
        if "warm_edits_received" in v and v["warm_edits_received"] < v.get("warm_changed", 0):
            lines.append(f"- {s}: warm resync brought {v['warm_edits_received']} of {v['warm_changed']} edits")
    if lines[-1].startswith("- "):
        lines.append("")
    errors = [(s, k, v["error"]) for s, d in peers.items() for k, v in d.items() if isinstance(v, dict) and "error" in v]
    if errors:
        lines += ["Failed cases in this run:", ""] + [f"- {s} {k}: `{e}`" for s, k, e in errors] + [""]
    lines += ["| goal | met | Tessera's figure |", "|---|---|---|"]
    lines += [f"| {g['goal']} | {'yes' if g['met'] else '**no**'} | {g['value']} |" for g in goal_list]
    return "\n".join(lines)


def plots(peers, img_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(img_dir, exist_ok=True)
    cols = ["tessera"] + PEERS
    colors = {"tessera": "#7b3fe4", "y-websocket": "#999999", "hocuspocus": "#e4863f", "y-sweet": "#3f9fe4"}
    made = []

    def grouped(name, title, ylabel, groups, key_path, log=False):
        fig, ax = plt.subplots(figsize=(7, 3.6))
        width = 0.8 / len(cols)
        for i, s in enumerate(cols):
            ys = [get(peers, s, k, *key_path) or 0 for k, _ in groups]
            ax.bar([g + i * width for g in range(len(groups))], ys, width, label=s, color=colors[s])
        ax.set_xticks([g + width * (len(cols) - 1) / 2 for g in range(len(groups))])
        ax.set_xticklabels([label for _, label in groups])
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = os.path.join(img_dir, f"bench-{name}.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        made.append(path)

    fan = [("fanout_1", "N=1"), ("fanout_10", "N=10"), ("fanout_100", "N=100")]
    grouped("fanout-throughput", "Fan-out: updates/s (1 writer → N readers)", "updates/s", fan, ("saturated", "updates_per_s"))
    grouped("fanout-p99", "Fan-out at 100 updates/s: p99 delivery latency", "ms", fan, ("paced", "latency_ms", "p99"), log=True)
    grouped("rss-per-doc", "RSS per small doc (one client each)", "bytes", [("manydocs_1000", "1k docs"), ("manydocs_10000", "10k docs")], ("rss_per_doc_bytes",))
    grouped("cold-sync", "Vault sync of 10k notes: time", "seconds", [("vaultsync", "cold")], ("cold", "seconds"))
    grouped("warm-resync", "Warm resync (10k notes): time", "ms", [("vaultsync", "0 changed")], ("warm_0", "ms"), log=True)
    grouped("replay", "Keystroke replay (first 40k of automerge-paper): total time", "seconds", [("replay", "replay")], ("seconds",))
    return made


def main():
    args = sys.argv[1:]
    out_dir, result = args[0], args[1]
    peers = load(out_dir)
    r = ratios(peers)
    goal_list = goals(peers, r)
    data = {
        "name": "peers",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"arch": platform.machine(), "cpus": os.cpu_count(),
                    "note": "2 cores shared with other work during the run; loopback only"},
        "peers": peers,
        "ratios_tessera_over_peer": r,
        "goals": goal_list,
    }
    os.makedirs(os.path.dirname(os.path.abspath(result)), exist_ok=True)
    with open(result, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    if "--doc" in args:
        doc = args[args.index("--doc") + 1]
        img = args[args.index("--img") + 1]
        made = plots(peers, img)
        rel = [os.path.relpath(p, os.path.dirname(doc)) for p in made]
        body = f"Run of {data['date']}.\n\n" + tables(peers, r, goal_list) + "\n\n" + "\n".join(f"![]({p})" for p in rel)
        text = open(doc).read() if os.path.exists(doc) else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            text = head + BEGIN + "\n" + body + "\n" + END + tail
        with open(doc, "w") as fh:
            fh.write(text)
    print(tables(peers, r, goal_list))


if __name__ == "__main__":
    main()
