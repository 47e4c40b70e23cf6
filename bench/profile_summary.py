"""Where a worker's time went: py-spy's collapsed stacks (``--profile run.txt``) summed by the
part of the worker that owns the innermost frame, each as a share of all samples.

``python -m bench.profile_summary run.txt`` prints the table the README quotes."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

# innermost frame first: the first owner found walking up the stack takes the sample
OWNERS = (
    ("streams/interaction_log", "interaction log (projection, COPY, metrics)"),
    ("streams/routing/domain", "routing domain (the pure policy)"),
    ("streams/routing/store_pg", "routing store (asyncpg statements)"),
    ("streams/routing/translate", "routing outputs (encoding)"),
    ("streams/routing/processor", "routing processor (decoding inputs, the rest)"),
    ("streams/routing/agents", "routing agents (partition-by-pool, publish)"),
    ("streams/platform", "platform (send, processing steps)"),
    ("aiokafka", "aiokafka (producer, protocol)"),
    ("faust/", "faust (streams, events, acks)"),
)
IDLE = ("Selector.select (selectors.py", "select (selectors.py")


def owner(frames: list[str]) -> str:
    if frames[0].startswith("Thread"):  # the consumer's fetch thread
        idle = any(marker in frame for frame in frames[-3:] for marker in IDLE)
        return "fetch thread, idle" if idle else "fetch thread, working"
    if any(marker in frame for frame in frames[-3:] for marker in IDLE):
        return "main thread, idle (waiting on sockets)"
    for frame in reversed(frames):
        for marker, name in OWNERS:
            if marker in frame:
                return name
    return "event loop and the rest"


def summarise(lines: Iterable[str]) -> list[tuple[str, float]]:
    samples: Counter[str] = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            samples[owner(stack.split(";"))] += int(count)
    total = sum(samples.values()) or 1
    return [(name, n / total) for name, n in samples.most_common()]


def print_summary(path: Path) -> None:
    print(f"\nwhere the profiled worker's time went ({path}):")
    for name, share in summarise(path.read_text().splitlines()):
        print(f"  {share:6.1%}  {name}")


if __name__ == "__main__":
    print_summary(Path(sys.argv[1]))
