"""The message browser's headless half: read, decode and export stored records.

``reader`` reads bounded pages of a topic's records off the broker (raw batch bytes on
the broker loop, decoding in a worker thread), seeks by offset or time, scans with a
filter and follows the tail; ``batches`` decodes stored batches with every codec under an
output limit; ``decode`` renders a key or value as msgpack, JSON, text or hex within size
and depth limits; ``export`` writes records to JSON Lines and CSV exactly (bytes that are
not UTF-8 as base64 with a marker) and reads a JSON Lines export back.
"""
