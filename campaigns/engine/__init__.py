"""The sending engine: claims recipients, paces sends with the Redis limiter, sends with
aiohttp, records outcomes in bulk, and recovers from crashes without sending anyone twice."""
