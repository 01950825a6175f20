"""Serving benchmark: the dispo service under load from a separate process, side by side with a
naive server that runs a `transformers` text-classification pipeline on the same encoder.

    python bench/serve_load.py --model dispo-default [--soak 600]

Phases (each against a freshly started server process):
1. one client, POST /v1/dispositions with the median-length built contact: latency percentiles;
2. 16 concurrent clients, POST /v1/dispositions with varied contacts: throughput (dispo batches the
   concurrent requests on the server), the same for the naive server;
3. live: 30-turn conversations over the WebSocket, round-trip time of each update;
4. optional soak: mixed load for --soak seconds, errors counted and the server's memory sampled.

Results are appended to bench/results/serve_load.json (one object per run) and logged.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
from fastapi import Body, FastAPI

from dispo.model.bundle import LABELS_FILE, RUN_CONFIG_FILE

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "serve_load.json"
logger = logging.getLogger("bench.serve_load")


# -- the naive server -------------------------------------------------------------------------------
def naive_app(model_path: str, n_labels: int) -> Any:
    """A FastAPI app that classifies each request's full transcript with a transformers pipeline,
    one request at a time: what one would write first."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=n_labels)
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device=-1)
    app = FastAPI()

    @app.post("/classify")
    def run(body: Annotated[dict[str, Any], Body()]) -> Any:  # sync: FastAPI runs it in its thread pool
        transcript = "\n".join(f"{t['speaker']}: {t['text']}" for t in body["turns"])
        return classify(transcript, truncation=True, max_length=512, top_k=3)

    return app


def serve_naive(port: int, model_path: str, n_labels: int) -> None:
    import uvicorn

    uvicorn.run(naive_app(model_path, n_labels), host="127.0.0.1", port=port, log_level="warning")


# -- helpers --------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} not ready after {timeout} s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    array = np.asarray(values)
    return {
        "n": len(values),
        "p50_ms": round(float(np.percentile(array, 50)), 2),
        "p95_ms": round(float(np.percentile(array, 95)), 2),
        "p99_ms": round(float(np.percentile(array, 99)), 2),
        "mean_ms": round(float(array.mean()), 2),
    }


def contact_bodies(n: int, seed: int) -> list[dict[str, Any]]:
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    return [b.contact.to_json_dict() for b in CorpusBuilder(CorpusConfig(n_contacts=n, seed=seed)).build()]


def words(body: dict[str, Any]) -> int:
    return sum(len(t["text"].split()) for t in body["turns"])


# -- load phases ----------------------------------------------------------------------------------
async def sequential(url: str, bodies: list[dict[str, Any]], headers: dict[str, str], n: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(timeout=60) as client:
        for i in range(n):
            started = time.perf_counter()
            response = await client.post(url, json=bodies[i % len(bodies)], headers=headers)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200
    return {**percentiles(latencies[5:]), "errors": errors}


async def concurrent(
    url: str, bodies: list[dict[str, Any]], headers: dict[str, str], clients: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds

    async def client_loop(offset: int, client: httpx.AsyncClient) -> None:
        nonlocal errors
        i = offset
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                response = await client.post(url, json=bodies[i % len(bodies)], headers=headers)
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - started) * 1000)
            i += clients

    limits = httpx.Limits(max_connections=clients + 4)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(client_loop(k, client) for k in range(clients)))
    elapsed = time.monotonic() - started
    return {**percentiles(latencies), "requests_per_s": round(len(latencies) / elapsed, 2), "errors": errors}


def conversations(bodies: list[dict[str, Any]], n: int, turns: int) -> list[list[dict[str, Any]]]:
    """``n`` conversations of exactly ``turns`` turns: built contacts, extended with the turns of
    the next contacts when short (a long call that wanders over several topics)."""
    out = []
    cursor = 0
    for _ in range(n):
        conversation: list[dict[str, Any]] = []
        while len(conversation) < turns:
            conversation.extend(bodies[cursor % len(bodies)]["turns"])
            cursor += 1
        out.append(conversation[:turns])
    return out


async def live(base: str, key: str, talks: list[list[dict[str, Any]]]) -> dict[str, Any]:
    import websockets

    round_trips: list[float] = []
    server_side: list[float] = []
    errors = 0
    for index, talk in enumerate(talks):
        uri = base.replace("http", "ws", 1) + f"/v1/live/bench-{index}?agent_id=bench"
        async with websockets.connect(uri, additional_headers={"X-API-Key": key}) as ws:
            for turn in talk:
                started = time.perf_counter()
                await ws.send(json.dumps({"type": "turn", "speaker": turn["speaker"], "text": turn["text"]}))
                message = json.loads(await ws.recv())
                round_trips.append((time.perf_counter() - started) * 1000)
                if message.get("type") != "suggestion":
                    errors += 1
                else:
                    server_side.append(message["latency_ms"])
            await ws.send(json.dumps({"type": "close"}))
            final = json.loads(await ws.recv())
            errors += final.get("type") != "final"
    return {"round_trip": percentiles(round_trips), "server": percentiles(server_side), "errors": errors}


async def soak(
    base: str, bodies: list[dict[str, Any]], key: str, pid: int, seconds: float, clients: int
) -> dict[str, Any]:
    memory: list[tuple[float, float]] = []
    started = time.monotonic()
    stop = started + seconds

    async def sample() -> None:
        while time.monotonic() < stop:
            memory.append((round(time.monotonic() - started, 1), round(rss_mb(pid), 1)))
            await asyncio.sleep(10)

    async def talker() -> int:
        errors = 0
        talks = conversations(bodies[::-1], 50, 30)
        i = 0
        while time.monotonic() < stop:
            result = await live(base, key, [talks[i % len(talks)]])
            errors += result["errors"]
            i += 1
        return errors

    sampler = asyncio.create_task(sample())
    live_errors = asyncio.create_task(talker())
    load = await concurrent(f"{base}/v1/dispositions", bodies, {"X-API-Key": key}, clients - 1, seconds)
    await sampler
    errors = await live_errors
    first = statistics.mean(m for _, m in memory[: max(1, len(memory) // 5)])
    last = statistics.mean(m for _, m in memory[-max(1, len(memory) // 5) :])
    return {
        "seconds": seconds,
        "dispositions": load,
        "live_errors": errors,
        "rss_mb_samples": memory,
        "rss_mb_first_fifth": round(first, 1),
        "rss_mb_last_fifth": round(last, 1),
    }


# -- main -----------------------------------------------------------------------------------------
def start_dispo(args: argparse.Namespace, work: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    from serve.db import make_engine, upgrade
    from serve.store import Store

    url = f"sqlite:///{work / 'dispo.db'}"
    pepper = "bench-pepper-" + os.urandom(8).hex()
    engine = make_engine(url)
    upgrade(engine)
    store = Store(engine, pepper)
    keys = {role: store.create_key("bench", role, f"bench-{role}").secret for role in ("agent", "service")}
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "DISPO_DATABASE_URL": url,
        "DISPO_KEY_PEPPER": pepper,
        "DISPO_MODEL": args.model,
        "DISPO_BACKEND": args.backend,
        "DISPO_RATE_LIMIT_PER_MINUTE": "100000000",
        "DISPO_RATE_LIMIT_BURST": "1000000",
        "DISPO_LOG_LEVEL": "WARNING",  # no access log line per request
        "HF_HUB_OFFLINE": "1",
    }
    if args.models_dir:
        env["DISPO_MODELS_DIR"] = args.models_dir
    command = [sys.executable, "-m", "dispo.cli", "--log-level", "WARNING", "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/readyz", process)
    return process, base, keys


def start_naive(args: argparse.Namespace, model_path: str, n_labels: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = (
        "import sys; sys.path.insert(0, 'bench'); import serve_load; "
        f"serve_load.serve_naive({port}, {model_path!r}, {n_labels})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    base = f"http://127.0.0.1:{port}"
    wait_ready(f"{base}/docs", process)
    return process, base


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dispo-default", help="NAME[:VERSION] in the registry")
    parser.add_argument("--models-dir", default=None)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--contacts", type=int, default=400, help="built contacts to send (seed 21)")
    parser.add_argument("--sequential", type=int, default=200, help="requests of the one-client phase")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=45, help="length of each concurrent phase")
    parser.add_argument("--conversations", type=int, default=20, help="30-turn live conversations")
    parser.add_argument("--soak", type=float, default=0, help="seconds of mixed load (0: skip)")
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "alembic"):  # one line per request would load the client's core
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from dispo.model.bundle import read_json, resolve

    bundle = resolve(args.model, Path(args.models_dir) if args.models_dir else None)
    run_config = read_json(bundle, RUN_CONFIG_FILE)
    from dispo.model.modeling import resolve_base_model

    base_model = resolve_base_model(run_config["model"]["base_model"])
    n_labels = len(read_json(bundle, LABELS_FILE)["reason"])

    bodies = contact_bodies(args.contacts, seed=21)
    lengths = sorted(words(b) for b in bodies)
    median_words = lengths[len(lengths) // 2]
    median = [b for b in bodies if words(b) == median_words][:1]
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "model": args.model,
        "bundle": str(bundle),
        "backend": args.backend,
        "median_contact_words": median_words,
        "loadavg_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        process, base, keys = start_dispo(args, Path(tmp))
        try:
            agent = {"X-API-Key": keys["agent"]}
            url = f"{base}/v1/dispositions"
            asyncio.run(sequential(url, bodies, agent, 10))  # warm-up
            result["dispo_one_client_median_contact"] = asyncio.run(sequential(url, median, agent, args.sequential))
            logger.info("one client: %s", result["dispo_one_client_median_contact"])
            result["dispo_concurrent"] = asyncio.run(concurrent(url, bodies, agent, args.clients, args.seconds))
            logger.info("%d clients: %s", args.clients, result["dispo_concurrent"])
            talks = conversations(bodies, args.conversations, 30)
            result["dispo_live_30_turns"] = asyncio.run(live(base, keys["agent"], talks))
            logger.info("live: %s", result["dispo_live_30_turns"])
            result["dispo_rss_mb"] = round(rss_mb(process.pid), 1)
            if args.soak:
                result["soak"] = asyncio.run(soak(base, bodies, keys["agent"], process.pid, args.soak, args.clients))
                logger.info("soak: %s", {k: v for k, v in result["soak"].items() if k != "rss_mb_samples"})
        finally:
            stop(process)
    if not args.skip_naive:
        process, base = start_naive(args, base_model, n_labels)
        try:
            url = f"{base}/classify"
            asyncio.run(sequential(url, bodies, {}, 10))  # warm-up
            result["naive_one_client_median_contact"] = asyncio.run(sequential(url, median, {}, args.sequential // 2))
            logger.info("naive one client: %s", result["naive_one_client_median_contact"])
            result["naive_concurrent"] = asyncio.run(concurrent(url, bodies, {}, args.clients, args.seconds))
            logger.info("naive %d clients: %s", args.clients, result["naive_concurrent"])
        finally:
            stop(process)
        ratio = result["dispo_concurrent"]["requests_per_s"] / max(1e-9, result["naive_concurrent"]["requests_per_s"])
        result["throughput_ratio_vs_naive"] = round(ratio, 2)
    result["loadavg_end"] = os.getloadavg()
    result["targets"] = {
        "live_p95_ms<=20": result["dispo_live_30_turns"]["round_trip"]["p95_ms"] <= 20,
        "one_client_p95_ms<=60": result["dispo_one_client_median_contact"]["p95_ms"] <= 60,
        "throughput>=3x_naive": result.get("throughput_ratio_vs_naive", 0) >= 3,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    runs = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    runs.append(result)
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    logger.info("targets: %s; appended to %s", result["targets"], RESULTS)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
