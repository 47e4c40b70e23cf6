"""Admin operations without SQL: agents, tokens, pools, wrap-up codes and canned replies, with
an audit of every change; served by the desk process (``/api/admin``) and ``contactcenter
admin``."""
