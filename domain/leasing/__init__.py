"""The leasing aggregate: availability, seat locks and inserts, booking, lifecycle, the worker's
state pass, read-models (views, queries) and its schemas, one concern per module."""
