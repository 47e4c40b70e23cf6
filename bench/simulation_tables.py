"""The simulation figures of the README: the policy against Erlang C and Cobham, one shared
pool against a dedicated VIP pool, aging rates, and a staffing search.

Run: .venv/bin/python bench/simulation_tables.py [--scale 1.0] [--jobs 2]
(--scale multiplies every run length; the README used 1.0.)"""

from __future__ import annotations

import argparse
import time

from streams.routing.domain.model import Channel
from streams.simulation import (
    ArrivalStream,
    HandleTime,
    Scenario,
    Summary,
    Target,
    fewest_agents,
    run_replications,
    simulate,
)
from streams.simulation.queueing import (
    erlang_c_agents,
    mean_wait,
    priority_mean_waits,
    service_level,
)

HANDLE = 60.0
ARGS = argparse.Namespace(scale=1.0, jobs=2)


REPLICATIONS = 10


def hours(contacts: float, per_hour: float) -> float:
    """Hours per replication for about ``contacts`` counted over all replications."""
    return contacts * ARGS.scale / REPLICATIONS / per_hour / 0.9


def scenario(agents: int, rates: dict[str, float], contacts: float, **options: object) -> Scenario:
    return Scenario(
        arrivals=tuple(ArrivalStream(c, Channel.VOICE, r) for c, r in rates.items()),
        agents=agents,
        handle=HandleTime(HANDLE),
        hours=hours(contacts, sum(rates.values())),
        **options,  # type: ignore[arg-type]
    )


def run(s: Scenario, thresholds: dict[str, float] | None = None) -> Summary:
    return simulate(
        s, replications=REPLICATIONS, seed=1, thresholds=thresholds or {}, jobs=ARGS.jobs
    )


def ci(estimate: object, digits: int = 1) -> str:
    mean, low, high = (getattr(estimate, n) for n in ("mean", "low", "high"))
    return f"{mean:.{digits}f} ±{(high - low) / 2:.{digits}f}"


def erlang_table() -> None:
    print("| agents | ρ | mean wait s (sim) | Erlang C | service level 20 s (sim) | Erlang C |")
    print("|---:|---:|---:|---:|---:|---:|")
    for agents, rho in ((2, 0.7), (5, 0.8), (10, 0.85), (20, 0.9), (50, 0.95)):
        a = agents * rho
        s = scenario(agents, {"standard": a / HANDLE * 3600}, 200_000, aging_per_second=0.0)
        group = run(s).classes["standard"]
        print(
            f"| {agents} | {rho} | {ci(group.mean_wait)} | {mean_wait(agents, a, HANDLE):.1f} "
            f"| {ci(group.service_level, 3)} | {service_level(agents, a, HANDLE, 20):.3f} |"
        )


def cobham_table() -> None:
    print("| agents | class: erlangs | mean wait s (sim) | Cobham |")
    print("|---:|---|---:|---:|")
    for agents, loads in (
        (10, {"vip": 2.0, "standard": 6.0}),
        (10, {"gold": 1.5, "silver": 2.5, "bronze": 4.0}),
    ):
        weights = {name: 100.0 * (len(loads) - n) for n, name in enumerate(loads)}
        rates = {name: load / HANDLE * 3600 for name, load in loads.items()}
        s = scenario(agents, rates, 150_000, aging_per_second=0.0, class_weights=weights)
        summary = run(s)
        expected = priority_mean_waits(agents, list(loads.values()), HANDLE)
        for (name, load), formula in zip(loads.items(), expected, strict=True):
            measured = ci(summary.classes[name].mean_wait)
            print(f"| {agents} | {name}: {load} | {measured} | {formula:.1f} |")


SEED_RATES = {"vip": 130.0, "standard": 530.0}
AGING_RATES = {"vip": 360.0, "standard": 180.0}


def shared_table() -> None:
    print(
        "| 14 agents | VIP service level 20 s | VIP ASA s | standard ASA s | occupancy "
        "| idle share of the dedicated VIP agents |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    rows = (
        ("one shared pool, strict VIP priority (aging 0)", {"aging_per_second": 0.0}),
        ("one shared pool, default aging (1/s)", {}),
        ("dedicated VIP pool of 4 + standard pool of 10", {"dedicated": {"vip": 4}}),
        ("dedicated VIP pool of 3 + standard pool of 11", {"dedicated": {"vip": 3}}),
    )
    for label, options in rows:
        summary = run(scenario(14, SEED_RATES, 100_000, **options))
        vip, standard = summary.classes["vip"], summary.classes["standard"]
        idle = "—"
        if "vip" in summary.team_occupancy:
            estimate = summary.team_occupancy["vip"]
            idle = f"{1 - estimate.mean:.3f}"
        print(
            f"| {label} | {ci(vip.service_level, 3)} | {ci(vip.mean_wait)} "
            f"| {ci(standard.mean_wait)} | {ci(summary.occupancy, 3)} | {idle} |"
        )


def aging_table() -> None:
    print(
        "| aging /s | horizon s (100/aging) | VIP service level 20 s | VIP ASA s "
        "| standard ASA s | standard p90 s | longest standard wait s | longest VIP wait s |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for aging in (0.0, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0):
        summary = run(scenario(10, AGING_RATES, 100_000, aging_per_second=aging))
        vip, standard = summary.classes["vip"], summary.classes["standard"]
        horizon = f"{100 / aging:.0f}" if aging else "∞"
        print(
            f"| {aging} | {horizon} | {ci(vip.service_level, 3)} | {ci(vip.mean_wait)} "
            f"| {ci(standard.mean_wait)} | {ci(standard.p90_wait)} "
            f"| {ci(standard.max_wait, 0)} | {ci(vip.max_wait, 0)} |"
        )


def staffing_table() -> None:
    print("| arrivals per hour | targets | fewest agents (sim) | tried | Erlang C |")
    print("|---|---|---:|---|---:|")
    cases = (
        ({"standard": 480.0}, {"standard": Target(0.8, 20.0)}),
        (SEED_RATES, {"vip": Target(0.9, 20.0), "standard": Target(0.8, 60.0)}),
    )
    for rates, targets in cases:
        s = scenario(1, rates, 60_000, aging_per_second=0.0)
        found = fewest_agents(s, targets, replications=REPLICATIONS, seed=1, jobs=ARGS.jobs)
        erlang = "—"
        if len(rates) == 1:
            (target,) = targets.values()
            a = s.offered_erlangs()
            erlang = str(erlang_c_agents(a, HANDLE, target.level, target.threshold_seconds))
        tried = ", ".join(f"{n}{'✓' if ok else '✗'}" for n, ok in found.tried.items())
        wanted = ", ".join(f"{c} {t.level:g}@{t.threshold_seconds:g}s" for c, t in targets.items())
        shown = ", ".join(f"{c} {r:g}" for c, r in rates.items())
        print(f"| {shown} | {wanted} | {found.agents} | {tried} | {erlang} |")


def prediction_table() -> None:
    print(
        "| pool | class | contacts that queued | mean wait when queued s "
        "| predicted wait: mean absolute error s |"
    )
    print("|---|---|---:|---:|---:|")
    for label, agents, aging in (
        ("12 agents, strict priority", 12, 0.0),
        ("14 agents, strict priority", 14, 0.0),
        ("12 agents, aging 1/s", 12, 1.0),
    ):
        s = scenario(agents, SEED_RATES, 60_000, aging_per_second=aging)
        results = run_replications(s, REPLICATIONS, 1, ARGS.jobs, predict=True)
        for cls in ("vip", "standard"):
            tallies = [r.classes[cls] for r in results]
            queued = sum(len(t.queued_waits) for t in tallies)
            waited = sum(sum(t.queued_waits) for t in tallies) / queued
            mae = sum(t.prediction_mae() * len(t.queued_waits) for t in tallies) / queued
            print(f"| {label} | {cls} | {queued} | {waited:.1f} | {mae:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "tables", nargs="*", default=["erlang", "cobham", "shared", "aging", "staffing"]
    )
    parser.parse_args(namespace=ARGS)
    tables = {
        "erlang": erlang_table,
        "cobham": cobham_table,
        "shared": shared_table,
        "aging": aging_table,
        "staffing": staffing_table,
        "prediction": prediction_table,
    }
    for name in ARGS.tables:
        started = time.perf_counter()
        tables[name]()
        print(f"\n({name}: {time.perf_counter() - started:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
