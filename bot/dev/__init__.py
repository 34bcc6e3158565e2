"""Development tooling: a throw-away local Synapse (``server``), a user-side client (``client``)
and the local demo (``demo``). Tests and benchmarks use these; production never imports them.
"""
