"""The bare loop: consume → decode JSON → heap decision → produce → commit, with aiokafka only.

It is the yardstick of every pipeline figure: the same broker, the same load, no faust, no
PostgreSQL. Run as a child process (``python -m bench.bare_loop``) so that it pays for its own
process like a worker does; it prints one JSON line of timings when done.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

WEIGHTS = {"vip": 100.0}


@dataclass
class Pool:
    waiting: list[tuple[float, int, str]] = field(default_factory=list)
    ready: deque[list[object]] = field(default_factory=deque)  # [agent id, free slots]
    capacity: dict[str, int] = field(default_factory=dict)
    arrivals: int = 0

    def take_agent(self) -> str:
        slot = self.ready[0]
        slot[1] = int(str(slot[1])) - 1
        if slot[1] == 0:
            self.ready.popleft()
        return str(slot[0])

    def decide(self, body: dict[str, object]) -> list[tuple[str, str, dict[str, object]]]:
        """(topic kind, key, output) for one input: queue or offer a contact, free an agent."""
        kind = body.get("type")
        if kind == "contact_arrived":
            contact_id = str(body["contact_id"])
            if self.ready:
                return [_offer(contact_id, self.take_agent())]
            self.arrivals += 1
            weight = WEIGHTS.get(str(body.get("customer_class")), 0.0)
            heapq.heappush(self.waiting, (-weight, self.arrivals, contact_id))
            return [
                ("interactions", contact_id, {"type": "contact_queued", "contact_id": contact_id})
            ]
        if kind == "agent_logged_in":
            capacity = body.get("capacity") or {}
            assert isinstance(capacity, dict)
            self.capacity[str(body["agent_id"])] = max(1, max(capacity.values(), default=1))
        elif kind == "agent_ready":
            agent_id = str(body["agent_id"])
            self.ready.append([agent_id, self.capacity.get(agent_id, 1)])
            offers = []
            while self.waiting and self.ready:
                offers.append(_offer(heapq.heappop(self.waiting)[2], self.take_agent()))
            return offers
        return []


def _offer(contact_id: str, agent_id: str) -> tuple[str, str, dict[str, object]]:
    return ("offers", agent_id, {"type": "offer_made", "contact_id": contact_id})


async def run(args: argparse.Namespace) -> dict[str, float | int | None]:
    started = time.time()
    inputs = [f"{args.prefix}{name}" for name in ("contacts", "agent-events")]
    consumer = AIOKafkaConsumer(
        *inputs,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=args.fetch_max_wait_ms,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=0)
    await producer.start()
    await consumer.start()
    pools: dict[str, Pool] = defaultdict(Pool)
    processed = 0
    first_input: float | None = None
    first_output: float | None = None
    deadline = time.monotonic() + args.deadline
    try:
        while processed < args.expect and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            if not batches:
                continue
            first_input = first_input or time.time()
            pending = []
            for messages in batches.values():
                for message in messages:
                    body = json.loads(message.value)
                    for kind, key, out in pools[body["pool_id"]].decide(body):
                        pending.append(
                            await producer.send(
                                f"{args.prefix}{kind}",
                                json.dumps(out).encode(),
                                key=key.encode(),
                            )
                        )
                    processed += 1
            await asyncio.gather(*pending)
            first_output = first_output or (time.time() if pending else None)
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "rss_mb": rss_mb(),
        "started": started,
        "first_input": first_input,
        "first_output": first_output,
        "done": time.time(),
        "processed": processed,
    }


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process in MB (Linux)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--expect", type=int, required=True, help="stop after this many inputs")
    parser.add_argument("--deadline", type=float, default=300.0, help="stop after seconds")
    parser.add_argument("--fetch-max-wait-ms", type=int, default=10)
    print(json.dumps(asyncio.run(run(parser.parse_args()))), flush=True)


if __name__ == "__main__":
    main()
