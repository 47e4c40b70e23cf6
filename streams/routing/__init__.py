"""Routing: a priority queue over one shared agent pool per pool id (pure policy in
``domain``, state and input offsets in PostgreSQL, thin faust agents)."""
