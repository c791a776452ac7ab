"""What models read: one trading day's cross-section at a time (`protocol.DayBatches`), built
from Feast point-in-time retrieval (`day_batches`), with the fundamental-similarity graph
(`graph`), and a seeded synthetic implementation for tests (`protocol.FakeDayBatches`)."""
