"""gac GPU worker: measures kernel calls on request (docs/worker-protocol.md)."""
