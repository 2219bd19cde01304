"""The engine benchmark's parameters (see bench/bench_engine.py)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

RATE = 1000
WORKERS = 100
N_MAIN = 100_000
N_MEMORY = 1_000_000
MEMORY_SEND_S = 60.0
BARE_S = 15.0
BARE_WARMUP_S = 1.0
MAIN_TIMEOUT_S = 200.0
LATENCY_MS = 50
TARGET_SHARE = 0.95
TARGET_BARE = 0.80
TARGET_RSS_MB = 150.0

VALUES = {
    "body_param_1": "Ana",
    "body_param_2": "PK-88213",
    "body_param_3": "tomorrow",
    "body_param_4": "9:00-12:00",
}
BARE_UNPACED_NUMBER = "990000000000001"
BARE_PACED_NUMBER = "990000000000002"
