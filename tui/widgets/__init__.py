"""Widgets: they display what screens give them and post messages; they never call `vault`."""
