"""Quantified-self data: the sample model, the metric registry, storage, queries, importers."""
