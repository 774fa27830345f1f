"""Coffre's terminal UI (Textual): where a person lives with their vault.

The UI only presents: every rule lives in the `vault` library, which never imports this
package. Long operations (the KDF, bulk decryption, imports, exports, forgetting) run in
thread workers so the event loop never blocks.
"""
