"""What every feature of the worker stands on: processing steps shared by the agents."""
