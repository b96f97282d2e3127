"""Reading the contract's JSON request bodies and their typed arguments.

Every helper raises ContractError with a message naming what is wrong, so the
views stay a list of Django calls.
"""
import datetime
import json

from .bytes_form import text
from .errors import ContractError

MISSING = object()  # an absent argument: let Django use its own default


def json_body(request, allowed):
    """The request body as a JSON object; empty counts as {}. Only `allowed` keys."""
    if not request.body:
        return {}
    try:
        # Strict JSON (RFC 8259): UTF-8 only, no NaN/Infinity.
        body = json.loads(request.body.decode("utf-8"), parse_constant=_not_json)
    except ValueError:  # also UnicodeDecodeError
        raise ContractError("the body is not JSON")
    if not isinstance(body, dict):
        raise ContractError("the body is not a JSON object")
    try:
        check_keys(body, allowed)
    except ContractError as error:
        raise ContractError(f"body: {error}")
    return body


def _not_json(constant):
    raise ValueError(f"{constant} is not JSON")


def check_keys(obj, allowed):
    unknown = [key for key in obj if key not in allowed]
    if unknown:
        raise ContractError(f"unknown argument {unknown[0]!r}")


def objects(value, name):
    """`value` checked to be a list of JSON objects (argument `name`)."""
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ContractError(f"argument {name!r} must be a list of objects")
    return value


def read_ops(request, readers):
    """A body {"ops": [...]}: each op read by readers[op["op"]] into the call to make.

    A reader checks its op's arguments and returns a function making the Django
    call; every op is read before any call is made, so a contract error is
    never hidden behind a 500 raised by an earlier op.
    """
    items = json_body(request, allowed=("ops",)).get("ops", MISSING)
    if items is MISSING:
        raise ContractError("missing argument 'ops'")
    calls = []
    for index, op in enumerate(objects(items, "ops")):
        name = op.get("op")
        if not isinstance(name, str):
            raise ContractError(f"ops[{index}]: missing or non-string 'op'")
        if name not in readers:
            raise ContractError(f"ops[{index}]: unknown op {name!r}")
        try:
            calls.append(readers[name](op))
        except ContractError as error:
            raise ContractError(f"ops[{index}]: {name}: {error}")
    return calls


# Argument readers: arg(obj, name, kind, required=...) returns the value or MISSING.

def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return _is_int(value) or isinstance(value, float)


def _is_text(value):
    return text(value) is not None


TEXT = 'string or {"bytes": string}'
# A value Django formats with str(): any JSON scalar, passed to Django as it is.
SCALAR = 'string, {"bytes": string}, number, boolean or null'

# Each kind: (check, convert). The kind's name is what a contract error says.
KINDS = {
    "string": (lambda v: isinstance(v, str), None),
    "integer": (_is_int, None),
    "boolean": (lambda v: isinstance(v, bool), None),
    "any JSON": (lambda v: True, None),
    TEXT: (_is_text, text),
    f"{TEXT} or null": (lambda v: v is None or _is_text(v), lambda v: None if v is None else text(v)),
    SCALAR: (
        lambda v: _is_text(v) or v is None or isinstance(v, (bool, int, float)),
        lambda v: text(v) if _is_text(v) else v,
    ),
    f"list of {TEXT}": (lambda v: isinstance(v, list) and all(_is_text(s) for s in v), lambda v: [text(s) for s in v]),
    f"list of {TEXT}, or null": (
        lambda v: v is None or (isinstance(v, list) and all(_is_text(s) for s in v)),
        lambda v: None if v is None else [text(s) for s in v],
    ),
}


def arg(obj, name, kind, required=False):
    value = obj.get(name, MISSING)
    if value is MISSING:
        if required:
            raise ContractError(f"missing argument {name!r}")
        return MISSING
    check, convert = KINDS[kind]
    if not check(value):
        raise ContractError(f"argument {name!r} must be a {kind}")
    return convert(value) if convert else value


def duration(obj, name):
    """A duration: a number passed as it is, or {"timedelta": seconds}."""
    value = obj.get(name, MISSING)
    if value is MISSING or _is_number(value):
        return value
    if isinstance(value, dict) and list(value) == ["timedelta"] and _is_number(value["timedelta"]):
        return datetime.timedelta(seconds=value["timedelta"])
    raise ContractError(f"argument {name!r} must be a number or {{\"timedelta\": number}}")


def expires(obj, name):
    """A cookie `expires`: text as it is, or {"datetime": ISO 8601}."""
    value = obj.get(name, MISSING)
    if value is MISSING or _is_text(value):
        return value if value is MISSING else text(value)
    if isinstance(value, dict) and list(value) == ["datetime"] and isinstance(value["datetime"], str):
        try:
            return datetime.datetime.fromisoformat(value["datetime"])
        except ValueError:
            raise ContractError(f"argument {name!r}: not an ISO 8601 datetime")
    raise ContractError(f"argument {name!r} must be a {TEXT} or {{\"datetime\": string}}")


def kwargs(**values):
    """Keyword arguments without the absent ones (so Django's defaults apply)."""
    return {name: value for name, value in values.items() if value is not MISSING}
