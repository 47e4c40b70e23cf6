"""The plan of a working day, fixed by its seed before anything runs: who arrives when on which
channel (an intraday profile per channel with a morning and an afternoon peak), their class,
patience and handle time, callbacks; the agents' shifts and breaks; shipments and delays.

All times are seconds of the day (08:00 = 8 * 3600); ``DayConfig.scale`` compresses them into
wall-clock time when the day runs. Pure: no I/O.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

CHANNELS = ("voice", "chat", "email", "sms")
# contacts per agent per day, per channel (the day's size follows the number of agents)
PER_AGENT = {"voice": 20.0, "chat": 8.0, "email": 6.0, "sms": 4.0}
# mean handle time (day seconds) per channel; log-normal spread
HANDLE_MEAN = {"voice": 300.0, "chat": 420.0, "email": 240.0, "sms": 180.0}
# mean patience (day seconds) of a waiting customer; e-mail and SMS customers do not hang up
PATIENCE_MEAN = {"voice": 180.0, "chat": 300.0}


@dataclass(frozen=True)
class DayConfig:
    seed: int = 1
    scale: float = 120.0  # day seconds per wall second
    agents: int = 8
    start_hour: float = 8.0
    end_hour: float = 17.0
    vip_share: float = 0.15
    callback_share: float = 0.1  # of voice callers who would wait: ask for a callback instead
    customers: int = 300
    shipments: int = 40
    delayed_share: float = 0.35
    volume: float = 1.0  # multiplies PER_AGENT

    @property
    def start(self) -> float:
        return self.start_hour * 3600

    @property
    def end(self) -> float:
        return self.end_hour * 3600

    @property
    def wall_seconds(self) -> float:
        return (self.end - self.start) / self.scale


@dataclass(frozen=True)
class Arrival:
    at: float
    channel: str
    customer: int  # index into the sample customers
    ivr_digit: str  # voice: the IVR choice ("0" = a person)
    patience: float  # day seconds a waiting customer stays (inf: does not hang up)
    handle: float  # day seconds the agent spends
    callback: bool  # voice: asks for a callback while holding


@dataclass(frozen=True)
class Shift:
    agent: int
    login: float
    break_at: float
    break_length: float
    logout: float


@dataclass(frozen=True)
class Shipment:
    at: float
    shipment_id: str
    customer: int
    delay_hours: float  # 0: on time
    delay_at: float  # when the carrier's new ETA arrives


@dataclass(frozen=True)
class DayPlan:
    config: DayConfig
    arrivals: list[Arrival] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)


def intensity(channel: str, t: float, config: DayConfig) -> float:
    """Relative arrival rate at day second ``t``: a base with a morning peak (about 10:00) and
    an afternoon peak (about 14:30); chat peaks later, e-mail is flatter."""
    hour = t / 3600
    shift = {"voice": 0.0, "chat": 0.5, "email": -0.5, "sms": 0.25}[channel]
    base = 0.5 if channel == "email" else 0.35
    morning = math.exp(-(((hour - 10.0 - shift) / 1.0) ** 2))
    afternoon = 0.8 * math.exp(-(((hour - 14.5 - shift) / 1.1) ** 2))
    return base + morning + afternoon


def _arrival_times(
    channel: str, total: float, rng: random.Random, config: DayConfig
) -> list[float]:
    """A non-homogeneous Poisson process with ``total`` expected arrivals (thinning)."""
    steps = 200
    width = (config.end - config.start) / steps
    grid = [intensity(channel, config.start + (i + 0.5) * width, config) for i in range(steps)]
    mean = sum(grid) / steps
    peak = max(grid) * 1.05
    rate_max = total / (config.end - config.start) * peak / mean
    times: list[float] = []
    t = config.start
    while True:
        t += rng.expovariate(rate_max)
        if t >= config.end:
            return times
        if rng.random() * peak <= intensity(channel, t, config):
            times.append(t)


def _lognormal(rng: random.Random, mean: float, sigma: float = 0.6) -> float:
    return rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)


def make_plan(config: DayConfig, ivr_digits: list[str]) -> DayPlan:
    rng = random.Random(config.seed)
    arrivals: list[Arrival] = []
    for channel in CHANNELS:
        total = PER_AGENT[channel] * config.agents * config.volume
        for at in _arrival_times(channel, total, rng, config):
            patience = PATIENCE_MEAN.get(channel)
            arrivals.append(
                Arrival(
                    at=at,
                    channel=channel,
                    customer=rng.randrange(config.customers),
                    ivr_digit=rng.choice([*ivr_digits, "0"]) if channel == "voice" else "",
                    patience=rng.expovariate(1 / patience) if patience else math.inf,
                    handle=_lognormal(rng, HANDLE_MEAN[channel]),
                    callback=channel == "voice" and rng.random() < config.callback_share,
                )
            )
    arrivals.sort(key=lambda a: (a.at, a.channel))
    return DayPlan(config, arrivals, make_shifts(config, rng), make_shipments(config, rng))


def make_shifts(config: DayConfig, rng: random.Random) -> list[Shift]:
    """Two overlapping shifts (early from the start, late until the end), a third each of the
    day plus an hour; the middle agents work the whole day. One break each, mid-shift."""
    length = config.end - config.start
    shifts = []
    for n in range(config.agents):
        kind = n % 3
        login = config.start + (length * 0.3 if kind == 2 else 0.0)
        logout = config.end - (length * 0.3 if kind == 1 else 0.0)
        login += rng.uniform(0, 300) if n else 0.0
        middle = (login + logout) / 2
        shifts.append(
            Shift(
                agent=n,
                login=login,
                break_at=middle + rng.uniform(-1800, 1800),
                break_length=rng.uniform(600, 1200),
                logout=logout,
            )
        )
    return shifts


def make_shipments(config: DayConfig, rng: random.Random) -> list[Shipment]:
    length = config.end - config.start
    shipments = []
    for n in range(config.shipments):
        at = config.start + rng.uniform(0, length * 0.7)
        delayed = rng.random() < config.delayed_share
        shipments.append(
            Shipment(
                at=at,
                shipment_id=f"S{config.seed}-{n:04d}",
                customer=rng.randrange(config.customers),
                delay_hours=rng.choice((6.0, 12.0, 30.0, 72.0)) if delayed else 0.0,
                delay_at=at + rng.uniform(600, 3600),
            )
        )
    return shipments
