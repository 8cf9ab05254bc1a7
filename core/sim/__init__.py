"""Simulated producers: a seeded city, delivery partners driving in it, and a runner that
streams their location updates into the broker (see :mod:`.city`, :mod:`.partners`,
:mod:`.runner`)."""
