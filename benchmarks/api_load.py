"""The HTTP service under load: decisions and price trials per second, and their p99.

Starts the API with 2 uvicorn workers on 127.0.0.1 (a free port) over PostgreSQL and Redis
when they answer (a fresh PostgreSQL schema, Redis database 14 under a key prefix of its own),
else over a temp SQLite file with in-memory stores (a note says so), makes a `service` key with
the `arbiter keys create` command (after `arbiter db upgrade`), then drives each endpoint for a fixed time from separate
load processes (asyncio, keep-alive HTTP/1.1 connections) and prints a table, then one JSON
line. The server it started is stopped, and the schema, the Redis keys and temp files removed.

Goal: at least 2,000 decisions/s with p99 under 20 ms.

    python benchmarks/api_load.py [--seconds 10] [--procs 1] [--conns 4] [--plain-uvicorn]
"""

from __future__ import annotations

import argparse
import asyncio
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


async def _drive(host: str, port: int, token: str, kind: str, seconds: float, conns: int) -> dict[str, Any]:
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

    async def connect(offset: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for n in range(3):  # warm the connection (and the worker) before measuring
            await _request(reader, writer, requests[(offset + n) % len(requests)])
        return reader, writer

    async def worker(offset: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     deadline: float) -> None:
        i = offset
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status = str(await asyncio.wait_for(_request(reader, writer, requests[i % len(requests)]), 10))
                except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    break
                if status == "200":
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[status] = errors.get(status, 0) + 1
                i += conns
        finally:
            writer.close()

    connections = await asyncio.gather(*(connect(n) for n in range(conns)))
    started = time.perf_counter()
    await asyncio.gather(*(worker(n, r, w, started + seconds) for n, (r, w) in enumerate(connections)))
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


def serve_main(argv: list[str]) -> None:
    """`uvicorn --factory arbiter.api.app:create_app --workers 2`, on a listening socket made
    as a TCP socket (IPPROTO_TCP). uvicorn's own `--workers` socket is made with protocol 0, so
    asyncio does not set TCP_NODELAY on the connections it accepts, and every keep-alive
    response (headers and body written separately) waits about 40 ms for a delayed ACK."""
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
    port, token, kind, seconds, conns = argv
    result = asyncio.run(_drive(HOST, int(port), token, kind, float(seconds), int(conns)))
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


def measure(port: int, token: str, kind: str, seconds: float, procs: int, conns: int) -> dict[str, Any]:
    loaders = [
        subprocess.Popen([sys.executable, __file__, "--drive", str(port), token, kind, str(seconds), str(conns)],
                         stdout=subprocess.PIPE, cwd=ROOT)
        for _ in range(procs)
    ]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    window = seconds
    for loader in loaders:
        out, _ = loader.communicate(timeout=seconds + 60)
        found = json.loads(out)
        latencies += found["latencies"]
        window = max(window, found["seconds"])
        for status, count in found["errors"].items():
            errors[status] = errors.get(status, 0) + count
    return {"per_s": len(latencies) / window, "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000, "ok": len(latencies), "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=1, help="load processes")
    parser.add_argument("--conns", type=int, default=4, help="connections per load process")
    parser.add_argument("--plain-uvicorn", action="store_true",
                        help="start `uvicorn --workers 2` as is (no TCP_NODELAY: about 40 ms per response)")
    args = parser.parse_args()

    note: list[str] = []
    env_stores, cleanup = stores(note)
    port = free_port()
    base = f"http://{HOST}:{port}"
    env = {**os.environ, **env_stores, "ARBITER_RATE_LIMIT_PER_SECOND": "0", "ARBITER_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    print(f"stores: {note[0]}", file=sys.stderr)
    server: subprocess.Popen[bytes] | None = None
    results: dict[str, dict[str, Any]] = {}
    try:
        # As a deployment does: the schema first, so the workers do not race to create it.
        subprocess.run([sys.executable, "-m", "arbiter.cli", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(port), "2"] if not args.plain_uvicorn else
            [sys.executable, "-m", "uvicorn", "--factory", "arbiter.api.app:create_app", "--host", HOST,
             "--port", str(port), "--workers", "2", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )
        wait_ready(base, server)
        created = subprocess.run([sys.executable, "-m", "arbiter.cli", "keys", "create", "--role", "service",
                                  "--name", "api_load", "--by", "bench"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        token = created.stdout.strip()
        for kind in BODIES:
            results[kind] = measure(port, token, kind, args.seconds, args.procs, args.conns)
    finally:
        try:
            if server is not None:
                stop(server)
        finally:
            cleanup()

    print(f"stores: {note[0]}; {os.cpu_count()} CPUs shared by the server (2 workers) and "
          f"{args.procs} load processes x {args.conns} connections, {args.seconds:g} s per endpoint")
    print(f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>10}")
    for kind, found in results.items():
        print(f"{BODIES[kind][0]:<28}{found['per_s']:>10.0f}{found['p50_ms']:>10.2f}{found['p99_ms']:>10.2f}"
              f"{sum(found['errors'].values()):>10}")
        if found["errors"]:
            print(f"  errors by status: {found['errors']}")
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
