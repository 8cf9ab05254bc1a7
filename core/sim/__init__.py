"""Simulated producers and consumers: a seeded city, delivery partners driving in it, and
the consumer apps reading their location updates (see :mod:`.city`, :mod:`.partners`,
:mod:`.runner`, :mod:`.consumers`, :mod:`.scenario`). They run on the embedded broker
(in-process clients, or real ones to its address: :mod:`.remote`) or on any external
cluster through real clients (:mod:`.external`, :mod:`.external_apps`)."""
