"""The engine benchmark's subprocesses: the sandbox and the Celery worker (start, wait until
ready, stop, read their logs), and WorkerTree, the worker's memory and CPU samples."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.engine_params import HOST, LATENCY_MS, ROOT


def venv_python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM (a Celery worker then stops its pool children itself), then SIGKILL to the
    whole process group if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def tail(log, n: int = 3000) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")[-n:]


def start_sandbox(port: int, log) -> subprocess.Popen:
    cmd = [venv_python(), "manage.py", "whatsapp_sandbox", "--host", HOST, "--port", str(port)]
    cmd += ["--mps", "100000", "--latency-ms", str(LATENCY_MS), "--no-webhooks"]
    cmd += ["--no-failing-numbers", "--seed", "1"]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def start_worker(
    sandbox_url: str, log, *, concurrency: int = 2, name: str = "bench-engine"
) -> subprocess.Popen:
    """One Celery worker with `concurrency` pool processes: one per sender that must run at
    the same time (the engine bench's campaign has ENGINE_SENDERS_PER_CAMPAIGN, 2)."""
    env = {**os.environ, "WHATSAPP_GRAPH_URL": sandbox_url}
    celery = str(Path(venv_python()).parent / "celery")
    cmd = [celery, "-A", "config", "worker", "--concurrency", str(concurrency)]
    cmd += ["--loglevel", "WARNING"]
    cmd += ["-n", f"{name}-{os.getpid()}@%h", "--without-gossip", "--without-mingle"]
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_sandbox(session, base: str, proc) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sandbox exited with code {proc.returncode}")
        with contextlib.suppress(Exception):
            if session.get(f"{base}/__sandbox/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("sandbox did not become healthy within 30 s")


def wait_worker(proc) -> None:
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited with code {proc.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("celery worker did not answer a ping within 60 s")


class WorkerTree:
    """The Celery worker's process tree: samples of per-process RSS, the tree's RSS and PSS;
    the CPU time it used."""

    def __init__(self, pid: int):
        import psutil

        self.root = psutil.Process(pid)
        self.samples: list[tuple[float, float, float, float]] = []  # t, max proc, tree, pss

    def sample(self) -> None:
        import psutil

        procs = [self.root]
        with contextlib.suppress(psutil.Error):
            procs += self.root.children(recursive=True)
        rss, pss = [], 0.0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                info = p.memory_full_info()
                rss.append(info.rss / 2**20)
                pss += info.pss / 2**20
        if rss:
            self.samples.append((time.time(), max(rss), sum(rss), pss))

    def since(self, t0: float) -> list[tuple[float, float, float, float]]:
        return [s for s in self.samples if s[0] >= t0]

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        procs = [self.root]
        with contextlib.suppress(psutil.Error):
            procs += self.root.children(recursive=True)
        for p in procs:
            with contextlib.suppress(psutil.Error):
                times = p.cpu_times()
                total += times.user + times.system
        return total


def process_cpu(prefix: str) -> float:
    """The CPU seconds of every process whose name starts with `prefix`, with those of their
    exited children (a PostgreSQL backend that closed between two samples, reaped by the
    postmaster, still counts)."""
    import psutil

    total = 0.0
    for p in psutil.process_iter(["name"]):
        if (p.info.get("name") or "").startswith(prefix):
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
    return total


def machine_cpu() -> float:
    import psutil

    t = psutil.cpu_times()
    return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)
