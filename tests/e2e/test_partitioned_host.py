"""A partitioned host: Celery workers on three test hosts (network namespaces of this test's
own, each joined to this machine by a veth pair) sharing one PostgreSQL and one Redis. One
host that holds claimed rows is cut off mid-campaign (its link goes down: its connections
hang, nothing is refused or reset), long enough for its heartbeat and its lease to run out,
then healed while the campaign still runs.

Afterwards: the other hosts' sweep recovered the cut host's claims, and when the cut host's
connections came back to life it sent nothing it held (the sandbox counts every request:
zero duplicates) and, once its senders ended, held no claim either (a claim still on its way
when the link went down reaches the database after the heal: it is given back at once, not
left until its lease runs out and a sweep comes by); the global rate limit held across the
hosts (the sandbox's busiest sliding second); nobody is lost (sent + failed + unknown +
skipped = total); the counters equal a recount; the campaign completed.

What it runs: a redis-server of its own (bound to the namespaces' gateway addresses), and a
small TCP forwarder of its own for PostgreSQL and the sandbox, which listen on 127.0.0.1
only. Root and `ip netns` are needed: without them the test is skipped (it fails in CI).
"""

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from campaigns.engine import control
from campaigns.models import Campaign, Recipient
from campaigns.services.sending import campaign_send
from campaigns.tracking.counters import counts_from_recipients, stored_counts
from config.celery import app as celery_app
from config.redis import get_redis
from whatsapp.models import WhatsAppAccount

from ..sandbox import free_port
from .processes import Worker, database_url
from .test_crash_recovery import (  # noqa: F401  (queue: the fixture)
    draft_with_recipients,
    queue,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

N = 4000  # recipients
RATE = 100  # the campaign's rate limit, msg/s: the campaign lasts about 40 s
LEASE = 10  # ENGINE_LEASE_SECONDS (its minimum)
HOSTS = 3
BEAT_HOST = 0  # runs beat (the sweep); never the one cut off
BLACKHOLE_METRIC = 4242

# TCP forwarder: listens on each gateway address, one port per service, and forwards to the
# service on 127.0.0.1. Prints {service: port} once listening.
FORWARDER = r"""
import asyncio, json, sys
from functools import partial

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except Exception:
        pass
    finally:
        writer.close()

async def handle(target, reader, writer):
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

async def main():
    hosts, targets = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    ports, servers = {}, []
    for name, target in targets.items():
        port = 0
        for host in hosts:
            server = await asyncio.start_server(partial(handle, target), host, port)
            port = server.sockets[0].getsockname()[1]
            servers.append(server)
        ports[name] = port
    print(json.dumps(ports), flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def free_subnet() -> int:
    """A second octet b such that nothing on this machine uses 10.b.0.0/16 yet."""
    used = ip("-o", "-4", "addr").stdout + ip("-4", "route").stdout
    start = os.getpid() % 50
    for k in range(50):
        b = 200 + (start + k) % 50
        if f" 10.{b}." not in used:
            return b
    raise RuntimeError("no free 10.x.0.0/16 for the test hosts")


class TestHosts:
    """HOSTS network namespaces, each with a veth pair to this (the root) namespace on its
    own /30: the gateway (this side) 10.b.i.1, the host 10.b.i.2, a default route via the
    gateway. `cut(i)` takes the gateway side's link down; a blackhole route of low priority
    then drops this side's packets to the host, instead of sending them out the default
    route. `close()` removes all of it."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, count: int):
        self.tag = f"bcp{os.getpid()}"
        self.b = free_subnet()
        self.hosts = [
            {
                "ns": f"{self.tag}-h{i}",
                "link": f"{self.tag}h{i}",
                "gateway": f"10.{self.b}.{i}.1",
                "address": f"10.{self.b}.{i}.2",
                "subnet": f"10.{self.b}.{i}.0/30",
            }
            for i in range(1, count + 1)
        ]
        self.made: list[dict] = []

    def make(self) -> None:
        for h in self.hosts:
            ip("netns", "add", h["ns"])
            self.made.append(h)
            peer = f"{h['link']}n"
            ip("link", "add", h["link"], "type", "veth", "peer", "name", peer, "netns", h["ns"])
            ip("addr", "add", f"{h['gateway']}/30", "dev", h["link"])
            ip("link", "set", h["link"], "up")
            ip("route", "add", "blackhole", h["subnet"], "metric", str(BLACKHOLE_METRIC))
            ip("-n", h["ns"], "link", "set", "lo", "up")
            ip("-n", h["ns"], "addr", "add", f"{h['address']}/30", "dev", peer)
            ip("-n", h["ns"], "link", "set", peer, "up")
            ip("-n", h["ns"], "route", "add", "default", "via", h["gateway"])

    def prefix(self, i: int) -> tuple[str, ...]:
        return ("ip", "netns", "exec", self.hosts[i]["ns"])

    def cut(self, i: int) -> None:
        ip("link", "set", self.hosts[i]["link"], "down")

    def heal(self, i: int) -> None:
        ip("link", "set", self.hosts[i]["link"], "up")

    def close(self) -> None:
        for h in self.made:
            ip("netns", "del", h["ns"], check=False)
            ip("link", "del", h["link"], check=False)  # and its peer, if the netns lingers
            ip("route", "del", "blackhole", h["subnet"], "metric", str(BLACKHOLE_METRIC),
               check=False)  # fmt: skip
        self.made = []


def hosts_or_skip() -> TestHosts:
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    reason = None
    if connection.vendor != "postgresql":
        pytest.skip("the partitioned host needs PostgreSQL (several hosts share it)")
    if os.geteuid() != 0:
        reason = "network namespaces need root"
    hosts = None
    if reason is None:
        hosts = TestHosts(HOSTS)
        try:
            hosts.make()
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            hosts.close()
            reason = f"cannot make network namespaces: {exc}"
    if reason is not None:
        if in_ci:
            pytest.fail(f"CI must run the partitioned-host test: {reason}")
        pytest.skip(reason)
    assert hosts is not None
    return hosts


class OwnRedis:
    """A redis-server of this test's own, reachable on 127.0.0.1 and on the test hosts'
    gateways only (so protected mode, which refuses any client not on loopback, is off)."""

    def __init__(self, port: int, binds: list[str], folder):
        self.port = port
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", *binds,
             "--protected-mode", "no", "--save", "", "--appendonly", "no", "--dir", str(folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Forwarder:
    def __init__(self, hosts: list[str], targets: dict[str, int]):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", FORWARDER, json.dumps(hosts), json.dumps(targets)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise RuntimeError("the TCP forwarder did not start")
        self.ports: dict[str, int] = json.loads(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc.stdout.close()


@contextlib.contextmanager
def tasks_published_to(url: str):
    """This process's Celery producer (campaign_send's sender tasks) on the test's own Redis,
    which is the workers' broker; as it was afterwards."""
    amqp = celery_app.amqp
    saved = celery_app.conf.get("broker_write_url"), amqp._producer_pool
    celery_app.conf.broker_write_url = url
    amqp._producer_pool = None
    try:
        yield
    finally:
        pool = amqp._producer_pool
        if pool is not None and pool is not saved[1]:
            with contextlib.suppress(Exception):
                pool.force_close_all()
        celery_app.conf.broker_write_url, amqp._producer_pool = saved


def with_host(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = f"{auth}@{host}:{port}" if auth else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def group_pids(pgid: int) -> set[int]:
    """The processes of a worker's process group (the worker and its pool)."""
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == pgid:  # state, ppid, pgrp
            pids.add(int(entry))
    return pids


def claim_pid(claimed_by: str) -> int | None:
    # campaigns.tasks: "<hostname>:<pid>:<sender number>:<token>"
    parts = claimed_by.rsplit(":", 3)
    return int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else None


def log_lines(worker: Worker) -> list[dict]:
    worker.log.seek(0)
    out = []
    for raw in worker.log.read().decode(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            line = json.loads(raw)
            if isinstance(line, dict):
                out.append(line)
    return out


def task_ended(lines: list[dict], task_id: str) -> dict | None:
    """celery.app.trace's line for the end of a task: "Task …[id] succeeded in …" (INFO) or
    "Task …[id] raised …"."""
    for line in lines:
        message = line.get("message", "")
        if f"[{task_id}]" in message and (" succeeded in " in message or " raised " in message):
            return line
    return None


def seconds_after(line: dict, wall: float) -> float:
    stamp = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    return round(stamp.timestamp() - wall, 1)


@pytest.mark.timeout(180)
def test_a_host_cut_off_mid_campaign_is_recovered_and_sends_nothing_twice_after_the_heal(
    sandbox,
    workspace_a,
    owner,
    queue,  # noqa: F811
    settings,
    tmp_path,
    record_property,
):
    started = time.monotonic()
    hosts = hosts_or_skip()
    redis = forwarder = None
    workers: list[Worker] = []
    figures: dict = {}
    try:
        gateways = [h["gateway"] for h in hosts.hosts]
        redis = OwnRedis(free_port(), gateways, tmp_path)
        forwarder = Forwarder(
            gateways,
            {"postgres": int(connection.settings_dict["PORT"] or 5432), "sandbox": sandbox.port},
        )
        own_redis = f"redis://127.0.0.1:{redis.port}/0"
        settings.REDIS_URL = own_redis  # this process's reads of heartbeats and marks
        settings.ENGINE_SENDERS_PER_CAMPAIGN = HOSTS  # a sender per host, as it happens
        settings.ENGINE_LEASE_SECONDS = LEASE
        for i, h in enumerate(hosts.hosts):
            workers.append(
                Worker(
                    queue,
                    beat=i == BEAT_HOST,
                    prefix=hosts.prefix(i),
                    DATABASE_URL=with_host(
                        database_url(), h["gateway"], forwarder.ports["postgres"]
                    ),
                    REDIS_URL=f"redis://{h['gateway']}:{redis.port}/0",
                    WHATSAPP_GRAPH_URL=f"http://{h['gateway']}:{forwarder.ports['sandbox']}",
                    ENGINE_LEASE_SECONDS=LEASE,
                    ENGINE_SENDERS_PER_CAMPAIGN=HOSTS,
                    # A host cut off inside a transaction holds its rows' locks: PostgreSQL
                    # ends that transaction soon, as it would a frozen client's.
                    DB_IDLE_IN_TRANSACTION_TIMEOUT=5,
                    # INFO: Celery logs the end of every task (the cut host's sender's, here).
                    LOG_LEVEL="INFO",
                    LOG_FORMAT="json",
                )
            )
        r = get_redis()

        def all_listening():
            for w in workers:
                if w.proc.poll() is not None:
                    raise AssertionError(f"a worker exited: {w.output()}")
            waiting = {c["addr"].rpartition(":")[0] for c in r.client_list() if c["cmd"] == "brpop"}
            return all(h["address"] in waiting for h in hosts.hosts)

        wait_for(all_listening, 60, "a worker on every host to listen to its queue")
        figures["setup_s"] = round(time.monotonic() - started, 1)

        campaign = draft_with_recipients(workspace_a, N, rate_limit=RATE, worker_count=30)
        WhatsAppAccount.objects.filter(pk=campaign.account_id).update(
            throughput=WhatsAppAccount.Throughput.HIGH,
            messaging_limit_tier=WhatsAppAccount.Tier.UNLIMITED,
        )
        number = campaign.account.phone_number_id
        with tasks_published_to(own_redis):
            campaign_send(user=owner, campaign=campaign)
        wait_for(lambda: sandbox.stats()["accepted_total"] >= N // 6, 60, "the first sends")

        def claims_by_host() -> dict[int, dict[str, list[int]]]:
            pids = [group_pids(w.proc.pid) for w in workers]
            out: dict[int, dict[str, list[int]]] = {i: {} for i in range(HOSTS)}
            rows = Recipient.objects.filter(campaign=campaign, status=Recipient.Status.SENDING)
            for rid, claimer in rows.values_list("id", "claimed_by"):
                pid = claim_pid(claimer)
                for i in range(HOSTS):
                    if pid in pids[i]:
                        out[i].setdefault(claimer, []).append(rid)
            return out

        # Cut off a host (not beat's) that holds claimed rows right now.
        candidates = [i for i in range(HOSTS) if i != BEAT_HOST]
        deadline = time.monotonic() + 20
        while True:
            held_by = claims_by_host()
            cut = max(candidates, key=lambda i: sum(map(len, held_by[i].values())))
            if held_by[cut] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert held_by[cut], f"no host but beat's holds claims: {held_by}"
        hosts.cut(cut)
        cut_at = time.monotonic()
        at_cut = sandbox.stats()["accepted_total"]
        # Read again once it is cut off: what it held when its link went down.
        claimers = set(claims_by_host()[cut]) | set(held_by[cut])
        held = set(
            Recipient.objects.filter(
                campaign=campaign, status=Recipient.Status.SENDING, claimed_by__in=claimers
            ).values_list("id", flat=True)
        )
        assert held, "the cut host should hold claimed rows"
        figures.update(cut_host=f"h{cut + 1}", held_at_cut=len(held), accepted_at_cut=at_cut)

        # Beat's sweep, on another host, recovers them once their lease (the heartbeat) ended.
        def recovered():
            return not Recipient.objects.filter(
                id__in=held, status=Recipient.Status.SENDING, claimed_by__in=claimers
            ).exists()

        wait_for(recovered, 3 * 15 + 5, "the cut host's claims to be recovered")
        recovered_after = time.monotonic() - cut_at
        assert recovered_after >= control.HEARTBEAT_TTL - 1  # not while its lease held
        during = sandbox.stats()["accepted_total"] - at_cut
        assert during > 0, "the other hosts should go on sending while one is cut off"
        assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.RUNNING, (
            "the campaign should still be running at the heal: make it longer"
        )
        time.sleep(1)
        hosts.heal(cut)
        healed_at, healed_wall = time.monotonic(), time.time()
        figures.update(
            recovered_after_s=round(recovered_after, 1),
            cut_for_s=round(healed_at - cut_at, 1),
            accepted_during_cut=during,
        )

        # The cut host's senders stopped when they lost Redis or their lease; their tasks
        # end once the host's connections come back (TCP resends on its own backoff).
        def ended() -> dict | None:
            lines = log_lines(workers[cut])
            tasks = {
                line["worker"]: line["task_id"]
                for line in lines
                if line.get("worker") in claimers and line.get("task_id")
            }
            if set(tasks) != claimers:
                return None
            ends = [task_ended(lines, task_id) for task_id in tasks.values()]
            return None if None in ends else max(ends, key=lambda line: line["timestamp"])

        wait_for(ended, 60, "the cut host's senders to end after the heal")
        figures["cut_senders_ended_after_heal_s"] = seconds_after(ended(), healed_wall)
        # A sender that has ended holds nothing: what it had claimed, even a claim that
        # only reached the database after the heal, is given back or recovered.
        left = Recipient.objects.filter(
            campaign=campaign, status=Recipient.Status.SENDING, claimed_by__in=claimers
        ).count()
        assert left == 0, f"the cut host's ended senders still hold {left} claimed rows"

        def finished():
            status = Campaign.objects.get(pk=campaign.pk).status
            return status in (Campaign.Status.COMPLETED, Campaign.Status.PAUSED)

        wait_for(finished, 90, "the campaign to complete")
        figures["campaign_done_after_heal_s"] = round(time.monotonic() - healed_at, 1)
        time.sleep(1)  # anything still on its way to the sandbox has arrived
    finally:
        for w in workers:  # all at once: each may take a while to shut down
            with contextlib.suppress(ProcessLookupError):
                os.killpg(w.proc.pid, signal.SIGTERM)
        logs = []
        for w in workers:
            logs.append(log_lines(w))
            w.stop()
        if forwarder is not None:
            forwarder.stop()
        if redis is not None:
            redis.stop()
        hosts.close()

    stats = sandbox.stats(detail=1, timeline=1)
    per_recipient = stats["per_recipient"]
    rows = Recipient.objects.filter(campaign=campaign)
    by_status = {s: rows.filter(status=s).count() for s in Recipient.Status.values}
    campaign.refresh_from_db()

    def accepted(phone: str) -> int:
        return per_recipient.get(re.sub(r"\D", "", phone), 0)

    status_of = dict(rows.values_list("phone", "status"))
    sent_once = sum(1 for p, s in status_of.items() if s == "sent" and accepted(p) == 1)
    unknown_accepted = sum(1 for p, s in status_of.items() if s == "unknown" and accepted(p))
    held_rows = list(rows.filter(id__in=held).values_list("status", "claimed_by"))
    sweeps = [
        {"unknown": line["unknown"], "requeued": line["requeued"]}
        for host in logs
        for line in host
        if line.get("message") == "recovered expired claims"
        and line.get("campaign_id") == str(campaign.pk)
    ]
    figures.update(
        by_status={k: v for k, v in by_status.items() if v},
        accepted_total=stats["accepted_total"],
        duplicate_sends=stats["duplicate_sends"],
        max_accepted_per_recipient=max(per_recipient.values(), default=0),
        busiest_sliding_second=stats["peak_one_second_by_phone_number_id"].get(number, 0),
        busiest_calendar_second=max(stats["accepted_by_second"].values(), default=0),
        sweep_recoveries=sweeps,
        held_ended_sent_by_other_hosts=sum(
            1 for s, c in held_rows if s == "sent" and c not in claimers
        ),
        held_ended_unknown=sum(1 for s, _ in held_rows if s == "unknown"),
        unknown_accepted_by_sandbox=unknown_accepted,
        status=campaign.status,
        status_reason=campaign.status_reason,
        wall_s=round(time.monotonic() - started, 1),
    )
    summary = json.dumps(figures, indent=1)
    record_property("summary", summary)

    # Nothing sent twice; what is sent reached Meta once; an unknown one may have.
    assert stats["duplicate_sends"] == 0, summary
    assert figures["max_accepted_per_recipient"] <= 1, summary
    assert sent_once == by_status["sent"], summary
    assert stats["accepted_total"] == by_status["sent"] + unknown_accepted, summary
    # Nobody lost.
    assert sum(by_status.values()) == N, summary
    assert by_status["pending"] == by_status["sending"] == 0, summary
    done = by_status["sent"] + by_status["failed"] + by_status["unknown"] + by_status["skipped"]
    assert done == N, summary
    # Only a request that may have left as the host was cut off can be unknown.
    assert by_status["unknown"] <= len(held), summary
    assert stored_counts(campaign_id=campaign.pk) == counts_from_recipients(campaign_id=campaign.pk)
    assert campaign.status == Campaign.Status.COMPLETED or (
        campaign.status == Campaign.Status.PAUSED and campaign.status_reason
    ), summary
    # The global rate held across the hosts: no sliding second at the sandbox over the limit
    # (+1, as test_engine's rate test allows for this machine's scheduling jitter).
    assert figures["busiest_sliding_second"] <= RATE + 1, summary
