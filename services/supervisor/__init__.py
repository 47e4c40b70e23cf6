"""The supervisor's floor: live queues and agents per pool, and actions on them (force not
ready or log out, move or offer a waiting contact, end a stuck one), each a routing input."""
