"""HTTP load benchmark of `kefuguard serve`: POST /v1/check, single messages and batches of 50.

    .venv/bin/python bench/bench_server.py [--duration 15] [--connections 8] [--platform pinduoduo]
                                           [--client auto|wrk|httpx] [--soak 300] [--out bench/out/server.md]

Starts `kefuguard serve` (one uvicorn worker) in a subprocess on a free loopback port with a
temporary SQLite database and a supervisor key made by `kefuguard keys create`, then drives
/v1/check from a separate process: `wrk` when it is installed (one thread, keep-alive
connections, a Lua script cycling through the request bodies), else an asyncio httpx client in
its own process. The bodies are real-like agent replies (`agent_replies.py`: order and tracking
numbers, prices, links, emoji, ~6% rule breaks), each checked with its rewrite, on one platform.

The per-key rate limit is raised for the run (KEFUGUARD_RATE_LIMIT=1e9): the limiter still runs
on every request, it just never refuses. `--soak N` then keeps the single-message load on for N
seconds and reports the server's RSS at the start (after warm-up) and the end, sampled every 10 s.
Targets: ≥ 3,000 single checks/s with p99 ≤ 10 ms; RSS growth < 10% over 5 minutes. This machine
has 2 cores: the server gets one, the load generator the other.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TARGET_RPS = 3000
TARGET_P99_MS = 10.0
TARGET_RSS_GROWTH = 0.10

_LUA = r"""
local bodies = {%(bodies)s}
local headers = {["Content-Type"] = "application/json", ["X-API-Key"] = "%(key)s"}
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("POST", "/v1/check", headers, bodies[(counter %% #bodies) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\nRESULT {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.1f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_string(text: str) -> str:
    level = "=" * 3
    while f"]{level}]" in text:
        level += "="
    return f"[{level}[{text}]{level}]"


def kefuguard(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kefuguard.cli", *args], env=env, capture_output=True, text=True,
                          check=True, timeout=300)


# ---------------------------------------------------------------------------- load generators
def run_wrk(base: str, key: str, bodies: list[bytes], duration: float, connections: int, folder: Path) -> dict:
    script = folder / "check.lua"
    script.write_text(_LUA % {"bodies": ",\n".join(lua_string(b.decode()) for b in bodies), "key": key},
                      encoding="utf-8")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "5s",
                          "-s", str(script), base], capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout}\n{out.stderr}")
    r = json.loads(line.removeprefix("RESULT "))
    seconds = r["duration_us"] / 1e6
    return {"requests": r["requests"], "rps": r["requests"] / seconds, "p50_ms": r["p50_us"] / 1000,
            "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000, "max_ms": r["max_us"] / 1000,
            "errors": r["non2xx"] + r["socket_errors"], "client": "wrk"}


def httpx_worker(base: str, key: str, bodies_file: str, duration: float, connections: int) -> None:
    """Runs in its own process (`--worker`): an asyncio httpx client, `connections` at a time."""
    import httpx

    bodies = json.loads(Path(bodies_file).read_text(encoding="utf-8"))
    latencies: list[float] = []
    errors = 0

    async def main() -> None:
        nonlocal errors
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        headers = {"X-API-Key": key, "Content-Type": "application/json"}
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10, headers=headers) as client:
            deadline = time.perf_counter() + duration
            counter = 0

            async def loop() -> None:
                nonlocal counter, errors
                while time.perf_counter() < deadline:
                    counter += 1
                    body = bodies[counter % len(bodies)].encode()
                    t0 = time.perf_counter()
                    r = await client.post("/v1/check", content=body)
                    latencies.append(time.perf_counter() - t0)
                    if r.status_code != 200:
                        errors += 1

            start = time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(connections)))
            elapsed = time.perf_counter() - start
        lat = sorted(latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) > 100 else [lat[-1]] * 99
        print("RESULT " + json.dumps({"requests": len(lat), "rps": len(lat) / elapsed, "p50_ms": q[49] * 1000,
                                      "p90_ms": q[89] * 1000, "p99_ms": q[98] * 1000, "max_ms": lat[-1] * 1000,
                                      "errors": errors, "client": "httpx"}))

    asyncio.run(main())


def run_httpx(base: str, key: str, bodies: list[bytes], duration: float, connections: int, folder: Path) -> dict:
    path = folder / "bodies.json"
    path.write_text(json.dumps([b.decode() for b in bodies], ensure_ascii=False), encoding="utf-8")
    out = subprocess.run([sys.executable, __file__, "--worker", base, key, str(path), str(duration), str(connections)],
                         capture_output=True, text=True, timeout=duration + 120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"the httpx client gave no result: {out.stdout}\n{out.stderr}")
    return json.loads(line.removeprefix("RESULT "))


# ---------------------------------------------------------------------------- the run
def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        base, key, bodies_file, duration, connections = sys.argv[2:7]
        httpx_worker(base, key, bodies_file, float(duration), int(connections))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", default="pinduoduo")
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--client", choices=("auto", "wrk", "httpx"), default="auto")
    parser.add_argument("--soak", type=float, default=0.0, help="seconds of single-message load for the RSS check")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown report here")
    args = parser.parse_args()

    import httpx
    import psutil

    from agent_replies import generate

    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "httpx"
    drive = run_wrk if client == "wrk" else run_httpx
    folder = Path(tempfile.mkdtemp(prefix="kefuguard-bench-server-"))
    env = {**os.environ, "KEFUGUARD_DATA_DIR": str(folder / "data"), "KEFUGUARD_RATE_LIMIT": "1e9"}
    env.pop("KEFUGUARD_DATABASE_URL", None)
    url = f"sqlite:///{folder / 'kefuguard.db'}"
    kefuguard("db", "upgrade", "--database-url", url, env=env)
    key = kefuguard("keys", "create", "--tenant", "bench", "--role", "supervisor", "--database-url", url,
                    env=env).stdout.strip().splitlines()[-1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (folder / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "kefuguard.cli", "serve", "--port", str(port),
                               "--database-url", url, "--log-level", "warning"], env=env, stdout=log, stderr=log)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:  # ready, and every platform's checker built (a cold cache builds them: seconds of CPU)
                r = httpx.get(f"{base}/readyz", timeout=1)
                if r.status_code == 200 and r.json().get("checkers_warm"):
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {(folder / 'serve.log').read_text()}")
            time.sleep(0.2)
        replies = [r.text for r in generate(args.messages, args.platform)]
        flagged = 0
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as c:
            for text in replies[:300]:  # sanity check
                r = c.post("/v1/check", json={"platform": args.platform, "text": text})
                r.raise_for_status()
                flagged += not r.json()["ok"]
        single = [json.dumps({"platform": args.platform, "text": t}, ensure_ascii=False).encode() for t in replies]
        batches = [json.dumps({"platform": args.platform, "messages": replies[i:i + args.batch]},
                              ensure_ascii=False).encode() for i in range(0, len(replies) - args.batch + 1, args.batch)]
        proc = psutil.Process(server.pid)
        cpu_count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        lines += [
            "# kefuguard serve: /v1/check under load",
            "",
            f"One uvicorn worker, SQLite, {cpu_count} cores shared by server and client; client: {client}, "
            f"{args.connections} keep-alive connections, {args.duration:g} s per row. Platform {args.platform}, "
            f"{len(replies):,} real-like agent replies (`agent_replies.py`; {flagged / 3:.1f}% of the first 300 "
            "flagged), each checked with its rewrite. Latency is measured by the client, end to end.",
            "",
            "| load | requests/s | messages/s | p50 ms | p90 ms | p99 ms | max ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        results = {}
        for name, bodies, per in (("single message", single, 1), (f"batch of {args.batch}", batches, args.batch)):
            drive(base, key, bodies, 2.0, args.connections, folder)  # settle
            r = drive(base, key, bodies, args.duration, args.connections, folder)
            results[name] = r
            lines.append(f"| {name} | {r['rps']:,.0f} | {r['rps'] * per:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | "
                         f"{r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['errors']} |")
            print(lines[-1], flush=True)
        s = results["single message"]
        ok = s["rps"] >= TARGET_RPS and s["p99_ms"] <= TARGET_P99_MS
        lines += ["", f"Target: ≥ {TARGET_RPS:,} single checks/s with p99 ≤ {TARGET_P99_MS:g} ms — "
                      f"{'met' if ok else 'NOT met'} ({s['rps']:,.0f}/s, p99 {s['p99_ms']:.2f} ms)."]
        if args.soak > 0:
            rss_start = proc.memory_info().rss
            samples = [rss_start]
            soak_start = time.monotonic()
            done_at = soak_start + args.soak
            total = 0
            while (left := done_at - time.monotonic()) > 1:
                r = drive(base, key, single, min(10.0, left), args.connections, folder)
                total += r["requests"]
                samples.append(proc.memory_info().rss)
            growth = samples[-1] / rss_start - 1
            rate = total / (time.monotonic() - soak_start)
            lines += ["", f"Soak: {args.soak:g} s of single-message load ({total:,} requests, {rate:,.0f}/s): server RSS "
                          f"{rss_start / 2**20:.1f} MiB at the start, {samples[-1] / 2**20:.1f} MiB at the end "
                          f"(max {max(samples) / 2**20:.1f} MiB), growth {growth:+.1%} — "
                          f"{'within' if growth < TARGET_RSS_GROWTH else 'OVER'} the {TARGET_RSS_GROWTH:.0%} target."]
        lines.append("")
        report = "\n".join(lines)
        print("\n" + report)
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(report, encoding="utf-8")
        return 0
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
