"""The simulated LLM: a baseline profile, runtime faults and a continuous-batching scheduler.

Pure asyncio and the standard library; the app (app.py) wires it to the instrumentation.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# HTTP status a client sees for each injected error type.
ERROR_STATUS = {"invalid_request": 400, "oom": 503, "timeout": 504, "cuda_error": 500}


@dataclass(frozen=True)
class Span:
    """A range of plausible values, drawn uniformly."""

    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class Profile:
    """How fast one deployment serves (the spec's baselines: TTFT, latency, tokens/s)."""

    name: str = "llama-7b-gpu"
    ttft: Span = Span(0.02, 0.05)
    latency: Span = Span(0.05, 0.2)
    token_rate: Span = Span(150, 250)

    def completion_tokens(self, rng: random.Random) -> int:
        """A completion length whose total latency falls in the profile's latency range."""
        decode = max(self.latency.draw(rng) - self.ttft.high, 0.0)
        return max(1, round(decode * self.token_rate.draw(rng)))


@dataclass
class Faults:
    """What is broken right now; changed at runtime over HTTP."""

    error_rates: dict[str, float] = field(default_factory=dict)  # error type -> probability
    latency_factor: float = 1.0  # TTFT and every token take this many times longer
    capacity: float = 1.0  # share of batch slots that work; below 1 the queue grows under load

    def pick_error(self, rng: random.Random) -> str | None:
        """The error this request runs into, if any (types are tried in a fixed order)."""
        roll = rng.random()
        for error_type in sorted(self.error_rates):
            roll -= self.error_rates[error_type]
            if roll < 0:
                return error_type
        return None


def make_error(error_type: str) -> Exception:
    """The exception a real server would raise; the instrumentation classifies it by itself."""
    errors: dict[str, Callable[[], Exception]] = {
        "oom": lambda: MemoryError("CUDA out of memory: tried to allocate the KV cache"),
        "timeout": lambda: TimeoutError("generation timed out"),
        "invalid_request": lambda: ValueError("prompt exceeds the context window"),
        "cuda_error": lambda: RuntimeError("CUDA error: an illegal memory access was encountered"),
    }
    return errors.get(error_type, lambda: RuntimeError(f"injected failure: {error_type}"))()


class Scheduler:
    """Continuous batching for one model: requests queue, then join a batch when slots free up.

    `admit()` waits for a slot and returns the batch size the request joined; `release()` frees
    the slot. `on_queue(delta)` is told every change of the queue length.
    """

    def __init__(self, *, slots: int, max_batch: int, batch_window: float,
                 faults: Faults, on_queue: Callable[[int], None]) -> None:
        self.slots = slots
        self.max_batch = max_batch
        self.batch_window = batch_window
        self.faults = faults
        self.on_queue = on_queue
        self.active = 0
        self._waiting: deque[asyncio.Future[int]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def queued(self) -> int:
        return len(self._waiting)

    def _free(self) -> int:
        usable = max(1, int(self.slots * self.faults.capacity))
        return max(0, usable - self.active)

    async def admit(self) -> int:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self.on_queue(1)
        self._wake.set()
        try:
            return await future
        except asyncio.CancelledError:
            if future in self._waiting:  # cancelled while queued: leave the queue
                self._waiting.remove(future)
                self.on_queue(-1)
            elif future.done() and not future.cancelled():
                self.release()  # admitted just as the client left
            raise

    def release(self) -> None:
        self.active -= 1
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self._waiting or not self._free():
                continue
            # Wait briefly so requests arriving together share a batch.
            await asyncio.sleep(self.batch_window)
            take = min(self._free(), self.max_batch, len(self._waiting))
            batch = [self._waiting.popleft() for _ in range(take)]
            self.on_queue(-take)
            self.active += take
            for future in batch:
                if not future.cancelled():
                    future.set_result(take)
                else:
                    self.active -= 1
            if self._waiting:
                self._wake.set()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
