"""The load driver: N clients, each a thread with its own keep-alive HTTP connection, for a fixed
time after a warm-up. Standard library only, so it runs as its own process beside the server.

    python -m bench.driver PLAN.json        # prints the result as JSON on stdout

A plan names the server (always 127.0.0.1), the number of clients, the warm-up and measured
seconds, and the kinds of request with their weights. Each kind lists concrete variants (path,
form body) prepared beforehand, so the driver spends its time sending, not building requests:

    {"port": 8123, "clients": 32, "warmup": 5, "duration": 20, "seed": 1,
     "cookies": ["sessionid=…; csrftoken=…", …],      # one per client, used round-robin
     "kinds": [{"name": "patient page", "method": "GET", "weight": 4, "expect": [200],
                "variants": [{"path": "/patients/…/"}, …]},
               {"name": "PHQ-9 submission", "method": "POST", "weight": 1, "expect": [302],
                "variants": [{"path": "…", "body": "item_1=0&…"}, …]}]}

``"tour": true`` makes each client begin with one request of each kind, in order, even if the
window closes first (the smoke test's coverage on a slow machine).

Every loop is bounded in time and in count: a client stops at the end of the measured window or
after ``max_requests`` requests, whichever comes first; a request times out after ``timeout``.
"""

import http.client
import json
import math
import random
import sys
import threading
import time
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"
MAX_ERROR_SAMPLES = 10


@dataclass
class Sample:
    kind: str
    started: float
    seconds: float
    status: int  # 0 when the request failed without a response
    ok: bool


@dataclass
class ClientLog:
    samples: list[Sample] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (which need not be sorted); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1]


def _summary(latencies: list[float], requests: int, errors: int, seconds: float) -> dict:
    ms = [s * 1000 for s in latencies]
    return {
        "requests": requests,
        "errors": errors,
        "requests_per_second": round(requests / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(percentile(ms, 50), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(sum(ms) / len(ms), 2) if ms else 0.0,
        "max_ms": round(max(ms), 2) if ms else 0.0,
    }


def _client(
    plan: dict, index: int, start: float, warm_end: float, end: float, log: ClientLog
) -> None:
    rng = random.Random(plan.get("seed", 1) * 1000 + index)  # noqa: S311 -- a repeatable mix
    kinds = plan["kinds"]
    weights = [kind["weight"] for kind in kinds]
    cookies = plan.get("cookies") or [""]
    headers = {"Connection": "keep-alive", "User-Agent": "trellis-bench"}
    cookie = cookies[index % len(cookies)]
    if cookie:
        headers["Cookie"] = cookie
    timeout = plan.get("timeout", 30)
    conn = http.client.HTTPConnection(LOOPBACK, plan["port"], timeout=timeout)
    # With "tour", a client first sends one request of each kind (the smoke test's coverage).
    tour = list(kinds) if plan.get("tour") else []
    for _ in range(plan.get("max_requests", 100_000)):
        now = time.monotonic()
        if now >= end and not tour:  # the tour is finished even when the window is not
            break
        kind = tour.pop(0) if tour else rng.choices(kinds, weights)[0]
        variant = rng.choice(kind["variants"])
        body = variant.get("body")
        request_headers = dict(headers)
        if body is not None:
            body = body.encode()
            request_headers["Content-Type"] = "application/x-www-form-urlencoded"
        status = 0
        try:
            conn.request(kind["method"], variant["path"], body=body, headers=request_headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as error:
            conn.close()
            if len(log.errors) < MAX_ERROR_SAMPLES:
                log.errors.append(f"{kind['name']}: {type(error).__name__}: {error}")
        seconds = time.monotonic() - now
        ok = status in kind.get("expect", [200])
        if not ok and status and len(log.errors) < MAX_ERROR_SAMPLES:
            log.errors.append(f"{kind['name']}: HTTP {status} for {variant['path']}")
        if now >= warm_end:
            log.samples.append(Sample(kind["name"], now - start, seconds, status, ok))
    conn.close()


def run(plan: dict) -> dict:
    """Drive the server as ``plan`` says; the measured window's figures, overall and per kind."""
    clients = int(plan["clients"])
    warmup, duration = float(plan["warmup"]), float(plan["duration"])
    logs = [ClientLog() for _ in range(clients)]
    start = time.monotonic()
    warm_end, end = start + warmup, start + warmup + duration
    threads = [
        threading.Thread(target=_client, args=(plan, i, start, warm_end, end, logs[i]), daemon=True)
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    timeout = plan.get("timeout", 30)
    for thread in threads:
        # Bounded: a client ends its last request at most ``timeout`` after the window closes.
        thread.join(max(0.0, end + timeout + 5 - time.monotonic()))
    finished = time.monotonic()
    stuck = sum(thread.is_alive() for thread in threads)

    samples = [s for log in logs for s in log.samples]
    # The window runs until the last request that started inside it has answered.
    last = max((s.started + s.seconds for s in samples), default=warmup + duration)
    window = max(duration, last - warmup)
    by_kind = {}
    statuses: dict[str, int] = {}
    for sample in samples:
        by_kind.setdefault(sample.kind, []).append(sample)
        statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
    result = {
        "clients": clients,
        "warmup_s": warmup,
        "duration_s": round(window, 3),
        "wall_s": round(finished - start, 3),
        "stuck_clients": stuck,
        **_summary(
            [s.seconds for s in samples],
            len(samples),
            sum(not s.ok for s in samples),
            window,
        ),
        "statuses": dict(sorted(statuses.items())),
        "by_endpoint": {
            kind["name"]: _summary(
                [s.seconds for s in by_kind.get(kind["name"], [])],
                len(by_kind.get(kind["name"], [])),
                sum(not s.ok for s in by_kind.get(kind["name"], [])),
                window,
            )
            for kind in plan["kinds"]
        },
        "error_samples": [e for log in logs for e in log.errors][:MAX_ERROR_SAMPLES],
    }
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m bench.driver PLAN.json", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        plan = json.load(f)
    print(json.dumps(run(plan)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
