"""Closed-form M/M/c results the simulation is checked against.

``a`` is the offered load in erlangs (arrival rate × mean handle time), ``c`` the agents.
Erlang C is computed through the Erlang B recursion, which stays stable for any size."""

from __future__ import annotations

import math
from collections.abc import Sequence


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c."""
    if c < 0 or a < 0:
        raise ValueError("agents and load must be >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in M/M/c (1 when the load reaches the agents)."""
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def mean_wait(c: int, a: float, handle_seconds: float) -> float:
    """Mean wait in queue (all contacts, served at once or not) of M/M/c."""
    if a >= c:
        return math.inf
    return erlang_c(c, a) * handle_seconds / (c - a)


def service_level(c: int, a: float, handle_seconds: float, threshold: float) -> float:
    """Share of contacts answered within ``threshold`` seconds in M/M/c."""
    if a >= c:
        return 0.0
    return 1.0 - erlang_c(c, a) * math.exp(-(c - a) * threshold / handle_seconds)


def priority_mean_waits(c: int, loads: Sequence[float], handle_seconds: float) -> list[float]:
    """Cobham's mean waits of non-preemptive priority M/M/c, classes in priority order
    sharing one exponential handle time; ``loads`` are the classes' erlangs:
    W_k = C(c, a) / (c·μ·(1 − σ_{k−1})·(1 − σ_k)), σ_k = Σ_{i≤k} a_i / c."""
    total = sum(loads)
    waiting = erlang_c(c, total)
    waits: list[float] = []
    sigma_before = 0.0
    for load in loads:
        sigma = sigma_before + load / c
        if sigma >= 1:
            waits.append(math.inf)
        else:
            waits.append(waiting * handle_seconds / (c * (1 - sigma_before) * (1 - sigma)))
        sigma_before = sigma
    return waits


def erlang_c_agents(a: float, handle_seconds: float, target: float, threshold: float) -> int:
    """The fewest agents whose M/M/c service level reaches ``target`` at ``threshold``."""
    c = max(1, math.floor(a) + 1)
    while service_level(c, a, handle_seconds, threshold) < target:
        c += 1
    return c
