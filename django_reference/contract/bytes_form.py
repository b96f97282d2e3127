"""The contract's one JSON form of bytes (CONTRACT.md, "Bytes"): {"bytes": s}, each character
of s (U+0000 to U+00FF) one byte. Free of Django, so the settings can read it too."""


def text(value):
    """A str as it is, bytes from their JSON form, or None when `value` is neither."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["bytes"] and isinstance(value["bytes"], str):
        try:
            return value["bytes"].encode("latin-1")
        except UnicodeEncodeError:
            return None
    return None
