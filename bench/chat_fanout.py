"""Chat fan-out: N clients in one channel; connect time, delivery latency, deliveries per second, lost
messages, and server CPU per delivery compared with a bare Flask-SocketIO broadcast in the same async
mode, measured in the same run.

    .venv/bin/python bench/chat_fanout.py                       # N = 100, 500, 1000; both deployments
    .venv/bin/python bench/chat_fanout.py --sizes 100 --modes threading --messages 10

Deployments: `threading` = the embedded default (one gthread process, SQLite, no queue);
`gevent2` = two single-worker gevent processes with a private Redis queue and PostgreSQL (created and
dropped here). The clients are python-socketio clients on gevent in this process; they share the
machine's cores with the servers, so latencies are pessimistic. CPU per delivery counts only the
server processes' CPU time (from /proc) while the messages are delivered, so it is comparable.
Team target: LHN's CPU per delivery <= 1.25 x the bare broadcast's, with 0 messages lost.
"""

from gevent import monkey

monkey.patch_all()  # before anything opens a socket: the clients are greenlets

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402
import requests  # noqa: E402
import socketio  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import (  # noqa: E402
    LiveServer,
    RedisServer,
    build_demo_database,
    create_postgres_database,
    flask_command,
)

DEMO_PASSWORD = "lhn-demo-2026"
LAST_SEQ: dict[int, int] = {}  # channel -> the event number a freshly loaded page hands to chat.js
FRESH_JOINS = False  # --fresh-joins: every client asks for the latest 50 messages when it joins
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    app: str
    mode: str
    clients: int
    messages: int
    connect_s: float = 0.0
    connect_p50_ms: float = 0.0
    connect_p99_ms: float = 0.0
    refused: int = 0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    latency_max_ms: float = 0.0
    deliveries: int = 0
    deliveries_per_s: float = 0.0
    lost: int = 0
    server_cpu_s: float = 0.0
    cpu_us_per_delivery: float = 0.0
    notes: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a gunicorn master and its workers."""
    total, pids = 0.0, [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:  # ppid
                pids.append(int(entry.name))
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


# --- one scenario -----------------------------------------------------------------------------------------


class Receiver:
    def __init__(self, url: str, app: str, token: str | None, channel: int, arrivals: dict) -> None:
        self.sio = socketio.Client(reconnection=False, request_timeout=30)
        self.url, self.app, self.token, self.channel, self.arrivals = url, app, token, channel, arrivals
        self.seen: set[str] = set()
        self.sio.on("message_created", self._on_message)

    def _on_message(self, message: dict) -> None:
        key = message["client_id"]
        if key not in self.seen:  # drop duplicates by id, as the real clients do
            self.seen.add(key)
            self.arrivals.setdefault(key, []).append(time.time())

    def connect(self) -> float:
        start = time.perf_counter()
        auth = {"token": self.token} if self.token else None
        self.sio.connect(self.url, auth=auth, transports=["websocket"], wait_timeout=30)
        if self.app == "lhn":
            # As chat.js does: the page already shows the history and hands over its last event number.
            request = {"channel_id": self.channel}
            if LAST_SEQ.get(self.channel) is not None:
                request["last_seq"] = LAST_SEQ[self.channel]
            answer = self.sio.call("join_channel", request, timeout=30)
        else:
            answer = self.sio.call("join", {}, timeout=30)
        if not answer.get("ok"):
            raise RuntimeError(f"join refused: {answer}")
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        try:
            if self.sio.connected:
                self.sio.disconnect()
        finally:
            if getattr(self.sio.eio, "http", None) is not None:
                self.sio.eio.http.close()


def run_scenario(app: str, mode: str, urls: list[str], server_pids: list[int], n: int, messages: int,
                 rate: float, token: str | None, channel: int) -> Result:  # fmt: skip
    result = Result(app=app, mode=mode, clients=n, messages=messages)
    if app == "lhn" and not FRESH_JOINS:
        page = requests.get(f"{urls[0]}/api/v1/channels/{channel}/messages?limit=1",
                            headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
        LAST_SEQ[channel] = page.json()["last_seq"]
    arrivals: dict[str, list[float]] = {}
    receivers = [Receiver(urls[i % len(urls)], app, token, channel, arrivals) for i in range(n)]
    connect_times: list[float] = []
    started = time.perf_counter()
    pool = gevent.pool.Pool(50)  # 50 handshakes at a time, like a crowd arriving

    def connect(receiver: Receiver) -> None:
        try:
            connect_times.append(receiver.connect())
        except Exception as exc:
            result.refused += 1
            result.notes.append(f"connect failed: {str(exc)[:80]}")

    pool.map(connect, receivers)
    result.connect_s = round(time.perf_counter() - started, 2)
    result.connect_p50_ms = round(percentile(connect_times, 0.5), 1)
    result.connect_p99_ms = round(percentile(connect_times, 0.99), 1)
    connected = [r for r in receivers if r.sio.connected]
    # Presence broadcasts of the joins settle (LHN batches them: up to 15 s in a room of 1,000).
    time.sleep(2.5 + min(15, n / 50))

    sender = socketio.Client(reconnection=False, request_timeout=30)
    sender.connect(urls[0], auth={"token": token} if token else None, transports=["websocket"], wait_timeout=30)
    sent_at: dict[str, float] = {}
    # The servers' idle CPU (pings, upkeep) over 2 s, subtracted from the delivery window below.
    idle_start, idle_cpu = time.time(), sum(process_tree_cpu(p) for p in server_pids)
    gevent.sleep(2)
    cpu_before = sum(process_tree_cpu(p) for p in server_pids)
    idle_rate = (cpu_before - idle_cpu) / (time.time() - idle_start)
    first_send = time.time()
    for number in range(messages):
        client_id = uuid.uuid4().hex
        sent_at[client_id] = time.time()
        body = f"fan-out message {number}"
        if app == "lhn":
            answer = sender.call("send_message", {"channel_id": channel, "client_id": client_id, "body": body},
                                 timeout=30)  # fmt: skip
        else:
            answer = sender.call("send", {"client_id": client_id, "body": body}, timeout=30)
        if not answer.get("ok"):
            result.notes.append(f"send refused: {answer}")
        gevent.sleep(max(0.0, 1 / rate - (time.time() - sent_at[client_id])))
    expected = len(connected) * messages
    deadline = time.time() + 30 + n / 50
    while time.time() < deadline and sum(len(v) for v in arrivals.values()) < expected:
        gevent.sleep(0.1)
    last_arrival = max((t for v in arrivals.values() for t in v), default=time.time())
    cpu_after = sum(process_tree_cpu(p) for p in server_pids)
    window = time.time() - first_send
    result.notes.append(f"idle cpu {idle_rate:.3f} s/s over a {window:.1f} s window")
    cpu_after -= idle_rate * window
    latencies = [(t - sent_at[k]) * 1000 for k, times in arrivals.items() if k in sent_at for t in times]
    result.deliveries = len(latencies)
    result.lost = expected - result.deliveries
    result.latency_p50_ms = round(percentile(latencies, 0.5), 1)
    result.latency_p99_ms = round(percentile(latencies, 0.99), 1)
    result.latency_max_ms = round(max(latencies, default=0.0), 1)
    result.deliveries_per_s = round(result.deliveries / max(1e-6, last_arrival - first_send))
    result.server_cpu_s = round(cpu_after - cpu_before, 3)
    result.cpu_us_per_delivery = round(result.server_cpu_s / max(1, result.deliveries) * 1e6, 1)
    sender.disconnect()
    gevent.pool.Pool(100).map(lambda r: r.close(), receivers)
    time.sleep(1)
    return result


# --- deployments -----------------------------------------------------------------------------------------


def token_for(url: str, username: str) -> str:
    answer = requests.post(url + "/api/v1/tokens", json={"login": username, "password": DEMO_PASSWORD,
                           "name": "bench"}, timeout=30)  # fmt: skip
    answer.raise_for_status()
    return answer.json()["token"]


def general_channel(url: str, token: str) -> int:
    items = requests.get(url + "/api/v1/communities/pediatric-ibd/channels",
                         headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["items"]  # fmt: skip
    return next(c["id"] for c in items if c["name"] == "general")


def start_all(servers: list[LiveServer]) -> None:
    jobs = [gevent.spawn(s.start, 60) for s in servers]
    gevent.joinall(jobs, raise_error=True)


@contextmanager
def deployment(mode: str, app: str, workdir: Path, sizes: list[int]):  # type: ignore[no-untyped-def]
    """Start the servers for one deployment; yields (urls, pids, token, channel); stops them after."""
    max_n = max(sizes)
    env = {"LHN_CHAT_RATE_LIMIT": "100000 per minute", "LHN_MAX_SOCKETS": str(max_n + 100),
           "LHN_THREADS": str(max_n + 200), "LHN_SOCKETIO_CHANNEL": f"bench-{uuid.uuid4().hex[:6]}",
           "LHN_REALTIME_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:6]}"}  # fmt: skip
    redis_server, drop, servers = None, None, []
    target = "wsgi:app" if app == "lhn" else "bench.bare_socketio_app:app"
    try:
        if mode == "threading":
            path = workdir / f"{app}.sqlite3"
            shutil.copy(workdir / "demo.sqlite3", path)
            servers = [LiveServer(f"sqlite:///{path}", env=env, app=target, log_path=workdir / f"{app}-{mode}.log")]
        else:
            redis_server = RedisServer().start()
            database_url, drop = create_postgres_database("lhn_bench")
            if app == "lhn":
                flask_command(database_url, "db", "upgrade")
                flask_command(database_url, "lhn", "seed-demo")
            env.update({"LHN_WORKER_CLASS": "gevent", "LHN_SOCKETIO_ASYNC_MODE": "gevent",
                        "LHN_SOCKETIO_MESSAGE_QUEUE": redis_server.url,
                        "LHN_RATELIMIT_STORAGE_URI": redis_server.url})  # fmt: skip
            servers = [LiveServer(database_url, env=env, app=target, log_path=workdir / f"{app}-{mode}-{i}.log")
                       for i in (1, 2)]  # fmt: skip
        start_all(servers)
        urls = [s.url for s in servers]
        token = token_for(urls[0], "ibd_teen") if app == "lhn" else None
        channel = general_channel(urls[0], token) if token else 1
        yield urls, [s.process.pid for s in servers if s.process], token, channel
    finally:
        for server in servers:
            server.stop()
        if redis_server is not None:
            redis_server.stop()
        if drop is not None:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,500,1000")
    parser.add_argument("--modes", default="threading,gevent2")
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second from the sender")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "chat_fanout.json"))
    parser.add_argument(
        "--fresh-joins", action="store_true", help="clients join without a last_seq and get the latest 50 messages each"
    )
    args = parser.parse_args()
    global FRESH_JOINS
    FRESH_JOINS = args.fresh_joins
    sizes = [int(s) for s in args.sizes.split(",")]
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="lhn-bench-"))
    try:
        build_demo_database(workdir / "demo.sqlite3")
        for mode in args.modes.split(","):
            for app in ("bare", "lhn"):
                with deployment(mode, app, workdir, sizes) as (urls, pids, token, channel):
                    for n in sizes:
                        print(f"-- {app} {mode} N={n}", flush=True)
                        results.append(run_scenario(app, mode, urls, pids, n, args.messages, args.rate, token, channel))
                        print("   " + json.dumps(asdict(results[-1])), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps([asdict(r) for r in results], indent=2))


def report(results: list[Result]) -> None:
    header = (f"{'app':5} {'mode':9} {'N':>5} {'conn s':>7} {'conn p99':>8} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'max ms':>7} {'deliv/s':>8} {'lost':>5} {'cpu us/deliv':>12} {'ratio':>6}")  # fmt: skip
    print("\n" + header + "\n" + "-" * len(header))
    bare = {(r.mode, r.clients): r for r in results if r.app == "bare"}
    for r in results:
        base = bare.get((r.mode, r.clients))
        ratio = f"{r.cpu_us_per_delivery / base.cpu_us_per_delivery:.2f}" if base and base.cpu_us_per_delivery else ""
        print(f"{r.app:5} {r.mode:9} {r.clients:>5} {r.connect_s:>7} {r.connect_p99_ms:>8} {r.latency_p50_ms:>7} "
              f"{r.latency_p99_ms:>7} {r.latency_max_ms:>7} {r.deliveries_per_s:>8} {r.lost:>5} "
              f"{r.cpu_us_per_delivery:>12} {ratio if r.app == 'lhn' else '':>6}")  # fmt: skip
    print("\nratio = LHN's server CPU per delivery / the bare broadcast's, same mode and N (target <= 1.25, 0 lost)")
    ratios = [
        r.cpu_us_per_delivery / bare[(r.mode, r.clients)].cpu_us_per_delivery
        for r in results
        if r.app == "lhn" and (r.mode, r.clients) in bare and bare[(r.mode, r.clients)].cpu_us_per_delivery
    ]
    if ratios:
        print(f"median ratio {statistics.median(ratios):.2f}; lost total {sum(r.lost for r in results)}")


if __name__ == "__main__":
    main()
