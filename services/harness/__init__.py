"""The crash harness: real workers under load and faults, then invariant checks on what they
published and stored (``contactcenter crash-harness``)."""
