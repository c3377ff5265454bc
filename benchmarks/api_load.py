"""The HTTP service under load: decisions and price trials per second, and their p99.

Starts the API with 2 uvicorn workers on 127.0.0.1 (a free port) over PostgreSQL and Redis
when they answer (a fresh PostgreSQL schema, Redis database 14 under a key prefix of its own),
else over a temp SQLite file with in-memory stores (a note says so), makes a `service` key with
the `arbiter keys create` command (after `arbiter db upgrade`), then drives each endpoint for a
fixed time from separate load processes (asyncio, keep-alive HTTP/1.1 connections opened one
after another, measured once all are open) and prints a table, then one JSON line. The server
it started is stopped, and the schema, the Redis keys and temp files removed.

Every feature stays on, as in production: API keys and roles, the rate limit (set high enough
never to refuse the load, so that its cost is measured on every request), request ids,
metrics, the JSON access log (one line per request, written to a temp file and counted), the
decision log and experiment exposures. The table also gives the server's CPU (and each
worker's share, which shows whether the connections spread over both), its CPU time per
request, and the load processes' CPU, with the load average before and after.

Goal: at least 2,000 decisions/s with p99 under 20 ms.

    python benchmarks/api_load.py [--seconds 10] [--procs 1] [--conns 4] [--ramp 0.1]
                                  [--rate-limit 1000000] [--plain-uvicorn]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/14"
CATEGORIES = ["phone", "case", "charger", "dress", "coat", "shoes", "snack", "tea"]
SHOPS = ["shop-phone-001", "shop-fashion-001", "shop-food-003"]


def decision_body(i: int) -> dict[str, Any]:
    return {"context": {"user": {"id": f"load-{i % 1000}", "registered_days": i % 30},
                        "passthrough": {"client": "ios"}}}


def trial_body(i: int) -> dict[str, Any]:
    lines = [
        {"sku": f"SKU-{n:03d}", "shop": SHOPS[n % len(SHOPS)], "quantity": 1 + n % 3,
         "unit_price": f"{19 + 37 * n}.00", "tags": {"category": CATEGORIES[n % len(CATEGORIES)]}}
        for n in range(20)
    ]
    return {"lines": lines, "context": {"user": {"id": f"load-{i % 1000}"}},
            "coupons": ["fashion_20_off_199"], "user": f"load-{i % 1000}"}


BODIES = {"decisions": ("/v1/decisions/home_popup", decision_body),
          "trial": ("/v1/pricing/trial", trial_body)}


# ----------------------------------------------------------------------------- load process

async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    """One keep-alive request, sent in one write; the status of its answer (body read)."""
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _drive(host: str, port: int, token: str, kind: str, seconds: float, conns: int,
                 ramp: float) -> dict[str, Any]:
    # A minimal HTTP/1.1 client: on a 2-CPU machine a full client library costs more CPU per
    # request than the server, and the figures would measure the client.
    path, body = BODIES[kind]

    def raw(i: int) -> bytes:
        payload = json.dumps(body(i)).encode()
        return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload

    requests = [raw(i) for i in range(1000)]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    window = [float("inf"), float("inf")]  # [start, end): requests started in it are counted
    stopping = asyncio.Event()

    def count(key: str) -> None:
        errors[key] = errors.get(key, 0) + 1

    async def worker(offset: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        i = offset
        try:
            while not stopping.is_set():
                started = time.perf_counter()
                try:
                    status = str(await asyncio.wait_for(_request(reader, writer, requests[i % len(requests)]), 10))
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    count(type(exc).__name__)
                    break
                if window[0] <= started < window[1]:
                    if status == "200":
                        latencies.append(time.perf_counter() - started)
                    else:
                        count(status)
                i += conns
        finally:
            writer.close()

    # Connections open one after another, each busy before the next arrives, as clients come
    # in real life: an idle worker wins the next accept and the connections spread over the
    # workers. (Opened all at once, one worker's accept loop takes them all.)
    tasks = []
    for n in range(conns):
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tasks.append(asyncio.create_task(worker(n, reader, writer)))
        await asyncio.sleep(ramp)
    await asyncio.sleep(max(0.5, ramp))  # warm every connection (and worker) before measuring
    cpu = time.process_time()
    window[0] = time.perf_counter()
    window[1] = window[0] + seconds
    await asyncio.sleep(seconds)
    cpu = time.process_time() - cpu
    stopping.set()
    await asyncio.gather(*tasks)
    return {"latencies": latencies, "errors": errors, "seconds": seconds, "cpu_s": cpu}


def serve_main(argv: list[str]) -> None:
    """`uvicorn --factory arbiter.api.app:create_app --workers 2`, on a listening socket made
    as a TCP socket (IPPROTO_TCP). uvicorn's own `--workers` socket is made with protocol 0, so
    plain asyncio does not set TCP_NODELAY on the connections it accepts, and every keep-alive
    response (headers and body written separately) waits about 40 ms for a delayed ACK. uvloop
    sets it on every TCP connection, so with it (uvicorn[standard]) either socket does; this one
    keeps the figures right on plain asyncio too."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    port, workers = int(argv[0]), int(argv[1])
    config = uvicorn.Config("arbiter.api.app:create_app", factory=True, host=HOST, port=port, workers=workers,
                            access_log=False, log_level="warning")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


def drive_main(argv: list[str]) -> None:
    port, token, kind, seconds, conns, ramp = argv
    result = asyncio.run(_drive(HOST, int(port), token, kind, float(seconds), int(conns), float(ramp)))
    json.dump(result, sys.stdout)


# ----------------------------------------------------------------------------- the server

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def stores(note: list[str]) -> tuple[dict[str, str], Any]:
    """The ARBITER_* variables for the stores, and a cleanup function."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    prefix = f"arbiter-bench-{uuid.uuid4().hex[:8]}"
    try:
        import psycopg
        import redis

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2,
                             autocommit=True) as connection:
            connection.execute(f'create schema "{schema}"')
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
    except Exception as exc:
        note.append(f"PostgreSQL or Redis unreachable ({type(exc).__name__}): SQLite and in-memory stores")
        folder = tempfile.mkdtemp(prefix="arbiter-bench-")
        return {"ARBITER_DATABASE_URL": f"sqlite:///{folder}/arbiter.db"}, lambda: shutil.rmtree(folder, True)

    def cleanup() -> None:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'drop schema "{schema}" cascade')
        for key in client.scan_iter(f"{prefix}:*", count=1000):
            client.delete(key)
        client.close()

    note.append("PostgreSQL (schema of its own) and Redis (database 14)")
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    return {"ARBITER_DATABASE_URL": url, "ARBITER_REDIS_URL": REDIS_URL, "ARBITER_REDIS_PREFIX": prefix}, cleanup


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with status {server.returncode}")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready in time")


def stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (the supervisor and its workers), then SIGKILL."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def tree_cpu_seconds(root: int) -> dict[int, float]:
    """CPU time (user + system) used so far by `root` and each process under it (Linux
    /proc; empty elsewhere): the server's supervisor and workers, by pid."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        pid = int(entry.parent.name)
        parents[pid] = int(fields[1])
        used[pid] = (int(fields[11]) + int(fields[12])) / tick
    found: dict[int, float] = {}
    for pid, seconds in used.items():
        walk = pid
        while walk > 1 and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            found[pid] = seconds
    return found


def measure(port: int, token: str, kind: str, seconds: float, procs: int, conns: int, ramp: float,
            server: int) -> dict[str, Any]:
    loaders = []
    for _ in range(procs):
        loaders.append(subprocess.Popen(
            [sys.executable, __file__, "--drive", str(port), token, kind, str(seconds), str(conns), str(ramp)],
            stdout=subprocess.PIPE, cwd=ROOT))
        time.sleep(ramp)
    # The loaders measure once all their connections are open, which takes them this long.
    time.sleep(conns * ramp + max(0.5, ramp))
    before, started = tree_cpu_seconds(server), time.perf_counter()
    latencies: list[float] = []
    errors: dict[str, int] = {}
    load_cpu = 0.0
    for loader in loaders:
        out, _ = loader.communicate(timeout=seconds + 60 + conns * ramp)
        found = json.loads(out)
        latencies += found["latencies"]
        load_cpu += found["cpu_s"]
        for status, count in found["errors"].items():
            errors[status] = errors.get(status, 0) + count
    after, elapsed = tree_cpu_seconds(server), time.perf_counter() - started
    # By process, as shares of one CPU over the time the loaders ran (about the window).
    by_process = sorted(((after[pid] - before.get(pid, 0.0)) / elapsed for pid in after), reverse=True)
    per_s = len(latencies) / seconds
    return {"per_s": per_s, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "ok": len(latencies), "errors": errors,
            "load_cpu": load_cpu / seconds, "server_cpu": sum(by_process),
            "server_us": sum(by_process) / max(per_s, 1e-9) * 1e6,
            # The two busiest processes are the workers: a split far from even means the
            # connections did not spread over both.
            "workers": by_process[:2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=1, help="load processes")
    parser.add_argument("--conns", type=int, default=4, help="connections per load process")
    parser.add_argument("--ramp", type=float, default=0.1, help="seconds between two connections opening")
    parser.add_argument("--rate-limit", type=int, default=1_000_000,
                        help="ARBITER_RATE_LIMIT_PER_SECOND (and burst) of the server: high enough never to "
                        "refuse the load, so that the limiter's cost is measured, not its refusals")
    parser.add_argument("--plain-uvicorn", action="store_true",
                        help="start `uvicorn --workers 2` as is, with its own listening socket")
    args = parser.parse_args()

    note: list[str] = []
    env_stores, cleanup = stores(note)
    port = free_port()
    base = f"http://{HOST}:{port}"
    # Every feature on, as in production: the rate limiter runs on every request and each
    # request writes its JSON access line (to a file, counted below, not to this terminal).
    env = {**os.environ, **env_stores, "ARBITER_RATE_LIMIT_PER_SECOND": str(args.rate_limit),
           "ARBITER_RATE_LIMIT_BURST": str(max(1, args.rate_limit)), "ARBITER_LOG_LEVEL": "INFO",
           "PYTHONPATH": str(ROOT) + os.environ.get("EXP_PATH", "")}
    print(f"stores: {note[0]}", file=sys.stderr)
    server: subprocess.Popen[bytes] | None = None
    results: dict[str, dict[str, Any]] = {}
    logs = tempfile.NamedTemporaryFile(prefix="arbiter-bench-", suffix=".log", delete=False)
    load_before = os.getloadavg()
    try:
        # As a deployment does: the schema first, so the workers do not race to create it.
        subprocess.run([sys.executable, "-m", "arbiter.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "2"] if not args.plain_uvicorn else
            [sys.executable, "-m", "uvicorn", "--factory", "arbiter.api.app:create_app", "--host", HOST,
             "--port", str(port), "--workers", "2", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True, stderr=logs,
        )
        wait_ready(base, server)
        created = subprocess.run([sys.executable, "-m", "arbiter.cli", "keys", "create", "--role", "service",
                                  "--name", "api_load", "--by", "bench"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        token = created.stdout.strip()
        for kind in BODIES:
            if os.environ.get("EXP_ONLY") and kind != "decisions":
                results[kind] = results["decisions"]
                continue
            results[kind] = measure(port, token, kind, args.seconds, args.procs, args.conns, args.ramp,
                                    server.pid)
    finally:
        try:
            if server is not None:
                stop(server)
        finally:
            cleanup()
            logs.close()
            lines = Path(logs.name).read_text(encoding="utf-8", errors="replace").splitlines()
            os.unlink(logs.name)
    access = sum(1 for line in lines if '"request_id"' in line and '"status": 200' in line)
    troubles = [line for line in lines if '"request_id"' not in line and '"level": "info"' not in line]
    if troubles:
        print(f"the server logged {len(troubles)} other lines; the last ones:", *troubles[-5:], sep="\n  ")

    stack = "uvloop + httptools" if all(importlib.util.find_spec(m) for m in ("uvloop", "httptools")) else \
        "asyncio + h11 (uvloop or httptools missing)"
    print(f"stores: {note[0]}; server on {stack}; {os.cpu_count()} CPUs shared by the server (2 workers) and "
          f"{args.procs} load process(es) x {args.conns} connections, {args.seconds:g} s per endpoint; "
          f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"rate limit {args.rate_limit}/s per key (enforced on every request); "
          f"{access} JSON access log lines with request ids written by the server")
    print(f"{'endpoint':<28}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"
          f"{'server CPU':>12}{'workers':>10}{'us/req':>8}{'load CPU':>10}")
    for kind, found in results.items():
        split = "+".join(f"{share * 100:.0f}" for share in found["workers"]) + "%"
        print(f"{BODIES[kind][0]:<28}{found['per_s']:>8.0f}{found['p50_ms']:>8.2f}{found['p99_ms']:>8.2f}"
              f"{sum(found['errors'].values()):>8}{found['server_cpu']:>11.0%} {split:>9} {found['server_us']:>7.0f}"
              f"{found['load_cpu']:>10.0%}")
        if found["errors"]:
            print(f"  errors by status: {found['errors']}")
    print("(server CPU: the supervisor and both workers, 200% being both CPUs; workers: each one's share; "
          "us/req: server CPU time per answered request; load CPU: the load processes)")
    print(json.dumps({
        "bench": "api_load",
        "decisions_per_s": round(results["decisions"]["per_s"], 1),
        "decisions_p99_ms": round(results["decisions"]["p99_ms"], 2),
        "trial_per_s": round(results["trial"]["per_s"], 1),
        "trial_p99_ms": round(results["trial"]["p99_ms"], 2),
    }))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--drive":
        drive_main(sys.argv[2:])
    elif len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve_main(sys.argv[2:])
    else:
        main()
