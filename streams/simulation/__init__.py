"""Discrete-event simulation of the routing policy in virtual time, with the queueing
formulas (Erlang C, Cobham) it is checked against and a staffing search on top."""

from streams.simulation.config import ArrivalStream, HandleTime, Scenario, Shift, peak_staff
from streams.simulation.engine import run_replication
from streams.simulation.runner import run_replications, simulate
from streams.simulation.staffing import Staffing, Target, fewest_agents
from streams.simulation.statistics import GroupSummary, RunResult, Summary, summarise

__all__ = [
    "ArrivalStream",
    "GroupSummary",
    "HandleTime",
    "RunResult",
    "Scenario",
    "Shift",
    "Staffing",
    "Summary",
    "Target",
    "fewest_agents",
    "peak_staff",
    "run_replication",
    "run_replications",
    "simulate",
    "summarise",
]
