"""Scenario builders shared by the simulation tests."""

from __future__ import annotations

from streams.routing.domain.model import Channel
from streams.simulation import ArrivalStream, HandleTime, Scenario

HANDLE = 60.0


def per_hour(erlangs: float, handle: float = HANDLE) -> float:
    return erlangs / handle * 3600


def hours_for(contacts: int, erlangs: float, handle: float = HANDLE) -> float:
    """Run length in which about ``contacts`` arrive after the default warm-up."""
    return contacts / per_hour(erlangs, handle) / 0.9


def single_class(agents: int, rho: float, contacts: int, **options: object) -> Scenario:
    load = agents * rho
    return Scenario(
        arrivals=(ArrivalStream("standard", Channel.VOICE, per_hour(load)),),
        agents=agents,
        handle=HandleTime(HANDLE),
        hours=hours_for(contacts, load),
        aging_per_second=0.0,
        **options,  # type: ignore[arg-type]
    )


def classes(agents: int, loads: dict[str, float], contacts: int, **options: object) -> Scenario:
    """Voice classes with the given erlangs each; weights 300, 200, 100… in the given order."""
    weights = {name: 100.0 * (len(loads) - n) for n, name in enumerate(loads)}
    return Scenario(
        arrivals=tuple(
            ArrivalStream(name, Channel.VOICE, per_hour(load)) for name, load in loads.items()
        ),
        agents=agents,
        handle=HandleTime(HANDLE),
        hours=hours_for(contacts, sum(loads.values())),
        class_weights=weights,
        **options,  # type: ignore[arg-type]
    )
