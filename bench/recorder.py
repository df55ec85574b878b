"""Counters and latencies of one load run, with a measurement window that excludes warm-up and drain."""

from __future__ import annotations

import math
from collections import Counter, defaultdict


class Recorder:
    """Counts sends, answers and deliveries over the whole run and inside the current window.

    A send is answered by an ack or an error (Parley) or by its echo reaching the sender (bare). A delivery
    counts toward throughput when it arrives inside the window, and toward latency when its send timestamp
    (taken with the system-wide monotonic clock) falls inside the window.
    """

    def __init__(self) -> None:
        self.sends = 0
        self.answers = 0
        self.acks = 0
        self.shed = 0
        self.failed_sends = 0
        self.deliveries = 0
        self.expected_deliveries = 0
        self.acked_ids: defaultdict[str, set[str]] = defaultdict(set)
        self.errors: Counter[str] = Counter()
        self.close_codes: Counter[int] = Counter()
        self.set_window(math.inf, math.inf)

    def set_window(self, start_ns: float, end_ns: float) -> None:
        self.window_start_ns = start_ns
        self.window_end_ns = end_ns
        self.window_sends = 0
        self.window_acks = 0
        self.window_deliveries = 0
        self.latencies_ns: list[int] = []

    def _in_window(self, t_ns: int) -> bool:
        return self.window_start_ns <= t_ns < self.window_end_ns

    def outstanding(self) -> int:
        return self.sends - self.answers

    def progress(self) -> int:
        """Grows with every answer or delivery: a drain that sees it stand still has stalled."""
        return self.answers + self.deliveries

    def sent(self, now_ns: int, fanout: int) -> None:
        self.sends += 1
        self.expected_deliveries += fanout
        if self._in_window(now_ns):
            self.window_sends += 1

    def send_failed(self, fanout: int) -> None:
        """The connection was closed under the send: it never reached the server."""
        self.sends -= 1
        self.expected_deliveries -= fanout
        self.failed_sends += 1

    def acked(self, now_ns: int, room_id: str, message_id: str) -> None:
        self.answers += 1
        self.acks += 1
        self.acked_ids[room_id].add(message_id)
        if self._in_window(now_ns):
            self.window_acks += 1

    def echoed(self) -> None:
        self.answers += 1

    def error(self, code: str, fanout: int) -> None:
        self.answers += 1
        self.expected_deliveries -= fanout
        self.errors[code] += 1

    def delivered(self, now_ns: int, sent_ns: int) -> None:
        self.deliveries += 1
        if self._in_window(now_ns):
            self.window_deliveries += 1
        if self._in_window(sent_ns):
            self.latencies_ns.append(now_ns - sent_ns)

    def closed(self, code: int | None) -> None:
        self.close_codes[code if code is not None else -1] += 1

    def latencies_ms(self, *quantiles: float) -> list[float]:
        """Nearest-rank quantiles of the window's send-to-deliver latencies, in milliseconds."""
        ordered = sorted(self.latencies_ns)
        if not ordered:
            return [math.nan for _ in quantiles]
        ranks = (min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1)) for q in quantiles)
        return [ordered[rank] / 1e6 for rank in ranks]
