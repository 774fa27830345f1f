"""The vault's infrastructure, which knows no domain: the encrypted store and its blobs, the key
hierarchy and the only module that touches cryptographic primitives, the audit log, errors,
progress events and configuration. `Vault` (in `vault.core.vault`) ties them together."""
