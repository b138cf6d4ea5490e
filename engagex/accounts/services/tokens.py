import hashlib
import secrets


def token_new() -> tuple[str, str]:
    """Return a fresh random token and the sha256 hex digest that is stored instead of it."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
