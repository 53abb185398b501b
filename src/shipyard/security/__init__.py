"""Secrets and identities: API key generation and hashing (verification lands with the server)."""
