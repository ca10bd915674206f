"""Sustained load: throughput and tail latency against offered rate (open model)."""
