"""Remotes: end-to-end encrypted sync and backup of a vault over object storage or a folder."""
