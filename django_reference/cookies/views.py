"""The cookies topic (CONTRACT.md, "Cookies"): each op is one Django call.

Each op reader checks an op against the contract (ContractError -> 400) and
returns the Django call to make. A view reads every op before making any call,
so a contract error is never hidden behind a 500 from an earlier op. Whatever
Django raises escapes the view, so Django serves its own 500 page.

Text arguments are a str or bytes (CONTRACT.md, "Bytes"), passed to Django as
they are: where Django takes bytes, so does the contract.
"""
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from contract.body import (
    MISSING,
    SCALAR,
    TEXT,
    arg,
    check_keys,
    duration,
    expires,
    json_body,
    kwargs,
    objects,
    read_ops,
)
from contract.errors import ContractError, contract_view, json_response

TEXT_OR_NULL = f"{TEXT} or null"
TEXTS_OR_NULL = f"list of {TEXT}, or null"

# --- POST /cookies/set -------------------------------------------------------

COOKIE_ARGS = ("key", "value", "max_age", "expires", "path", "domain", "secure", "httponly", "samesite")


def _cookie_kwargs(op):
    """set_cookie's keyword arguments (all but key and value) present in `op`."""
    return kwargs(
        max_age=duration(op, "max_age"),
        expires=expires(op, "expires"),
        path=arg(op, "path", TEXT_OR_NULL),
        domain=arg(op, "domain", TEXT_OR_NULL),
        secure=arg(op, "secure", "boolean"),
        httponly=arg(op, "httponly", "boolean"),
        samesite=arg(op, "samesite", TEXT_OR_NULL),
    )


def _set_cookie(op):
    check_keys(op, ("op", *COOKIE_ARGS))
    key = arg(op, "key", TEXT, required=True)
    options = kwargs(value=arg(op, "value", SCALAR), **_cookie_kwargs(op))
    return lambda response: response.set_cookie(key, **options)


def _set_signed_cookie(op):
    check_keys(op, ("op", *COOKIE_ARGS, "salt"))
    key = arg(op, "key", TEXT, required=True)
    value = arg(op, "value", SCALAR, required=True)
    options = kwargs(salt=arg(op, "salt", TEXT), **_cookie_kwargs(op))
    return lambda response: response.set_signed_cookie(key, value, **options)


def _delete_cookie(op):
    check_keys(op, ("op", "key", "path", "domain", "samesite"))
    key = arg(op, "key", TEXT, required=True)
    options = kwargs(
        path=arg(op, "path", TEXT_OR_NULL),
        domain=arg(op, "domain", TEXT_OR_NULL),
        samesite=arg(op, "samesite", TEXT_OR_NULL),
    )
    return lambda response: response.delete_cookie(key, **options)


COOKIE_OPS = {
    "set_cookie": _set_cookie,
    "set_signed_cookie": _set_signed_cookie,
    "delete_cookie": _delete_cookie,
}


@contract_view
def set_cookies(request):
    calls = read_ops(request, COOKIE_OPS)
    response = json_response({"applied": len(calls)})
    for call in calls:
        call(response)
    return response


# --- GET|POST /cookies/read --------------------------------------------------


def _signed_lookup(request, lookup):
    check_keys(lookup, ("key", "salt", "max_age", "default"))
    key = arg(lookup, "key", TEXT, required=True)
    options = kwargs(
        # Absent: get_signed_cookie's own default, which means "raise".
        default=lookup.get("default", MISSING),
        salt=arg(lookup, "salt", TEXT),
        max_age=duration(lookup, "max_age"),
    )
    return lambda: request.get_signed_cookie(key, **options)


@contract_view
def read_cookies(request):
    lookups = json_body(request, allowed=("signed",)).get("signed", [])
    calls = []
    for index, lookup in enumerate(objects(lookups, "signed")):
        try:
            calls.append(_signed_lookup(request, lookup))
        except ContractError as error:
            raise ContractError(f"signed[{index}]: {error}")
    return json_response(
        {
            # WSGI gives header values latin-1 decoded; this is that string.
            "cookie_header": request.META.get("HTTP_COOKIE"),
            "cookies": request.COOKIES,
            "signed": [call() for call in calls],
        }
    )


# --- POST /cookies/signing ---------------------------------------------------

SIGNER_ARGS = ("signer", "key", "salt", "sep", "algorithm", "fallback_keys")


def _signer_kind(op):
    kind = arg(op, "signer", "string")
    if kind is MISSING:
        return "signer"
    if kind not in ("signer", "timestamp", "cookie"):
        raise ContractError(f"unknown signer {kind!r}")
    return kind


def _signer(op):
    """The signer an op names, as a function building it from the op's arguments."""
    kind = _signer_kind(op)
    if kind == "cookie":
        for name in ("key", "sep", "algorithm", "fallback_keys"):
            if name in op:
                raise ContractError(f"argument {name!r} is not allowed with signer 'cookie'")
        # Exactly the signer set_signed_cookie and get_signed_cookie use.
        options = kwargs(salt=arg(op, "salt", TEXT))
        return lambda: signing.get_cookie_signer(**options)
    signer_class = {"signer": signing.Signer, "timestamp": signing.TimestampSigner}[kind]
    options = kwargs(
        key=arg(op, "key", TEXT_OR_NULL),
        salt=arg(op, "salt", TEXT_OR_NULL),
        sep=arg(op, "sep", TEXT),
        algorithm=arg(op, "algorithm", TEXT_OR_NULL),
        fallback_keys=arg(op, "fallback_keys", TEXTS_OR_NULL),
    )
    return lambda: signer_class(**options)


def _max_age(op):
    """`max_age` for a method of the op's signer: only a TimestampSigner's methods take it."""
    options = kwargs(max_age=duration(op, "max_age"))
    if options and _signer_kind(op) == "signer":
        raise ContractError("argument 'max_age' needs signer 'timestamp' or 'cookie'")
    return options


def _serializer(op):
    """`serializer`: the class by name. JSONSerializer is Django's only one; a serializer of
    one's own is Python code, which the contract cannot carry."""
    name = arg(op, "serializer", "string")
    if name is MISSING:
        return {}
    if name != "JSONSerializer":
        raise ContractError("argument 'serializer' must be 'JSONSerializer', Django's only serializer")
    return {"serializer": signing.JSONSerializer}


def _sign(op):
    check_keys(op, ("op", "value", *SIGNER_ARGS))
    value = arg(op, "value", SCALAR, required=True)
    signer = _signer(op)
    return lambda: signer().sign(value)


def _unsign(op):
    check_keys(op, ("op", "value", "max_age", *SIGNER_ARGS))
    value = arg(op, "value", TEXT, required=True)
    options = _max_age(op)
    signer = _signer(op)
    return lambda: signer().unsign(value, **options)


def _signature(op):
    check_keys(op, ("op", "value", "signature_key", *SIGNER_ARGS))
    value = arg(op, "value", SCALAR, required=True)
    options = kwargs(key=arg(op, "signature_key", TEXT_OR_NULL))
    signer = _signer(op)
    return lambda: signer().signature(value, **options)


def _sign_object(op):
    check_keys(op, ("op", "obj", "serializer", "compress", *SIGNER_ARGS))
    obj = arg(op, "obj", "any JSON", required=True)
    options = kwargs(compress=arg(op, "compress", "boolean"), **_serializer(op))
    signer = _signer(op)
    return lambda: signer().sign_object(obj, **options)


def _unsign_object(op):
    check_keys(op, ("op", "value", "serializer", "max_age", *SIGNER_ARGS))
    value = arg(op, "value", TEXT, required=True)
    options = {**_serializer(op), **_max_age(op)}
    signer = _signer(op)
    return lambda: signer().unsign_object(value, **options)


def _timestamp(op):
    check_keys(op, ("op", *SIGNER_ARGS))
    if _signer_kind(op) == "signer":
        raise ContractError("op 'timestamp' needs signer 'timestamp' or 'cookie'")
    signer = _signer(op)
    return lambda: signer().timestamp()


def _dumps(op):
    check_keys(op, ("op", "obj", "key", "salt", "serializer", "compress"))
    obj = arg(op, "obj", "any JSON", required=True)
    options = kwargs(
        key=arg(op, "key", TEXT_OR_NULL),
        salt=arg(op, "salt", TEXT_OR_NULL),
        compress=arg(op, "compress", "boolean"),
        **_serializer(op),
    )
    return lambda: signing.dumps(obj, **options)


def _loads(op):
    check_keys(op, ("op", "value", "key", "salt", "serializer", "max_age", "fallback_keys"))
    value = arg(op, "value", TEXT, required=True)
    options = kwargs(
        key=arg(op, "key", TEXT_OR_NULL),
        salt=arg(op, "salt", TEXT_OR_NULL),
        max_age=duration(op, "max_age"),
        fallback_keys=arg(op, "fallback_keys", TEXTS_OR_NULL),
        **_serializer(op),
    )
    return lambda: signing.loads(value, **options)


def _b62_encode(op):
    check_keys(op, ("op", "value"))
    value = arg(op, "value", "integer", required=True)
    return lambda: signing.b62_encode(value)


def _one_text(function):
    """The reader of an op that is `function(value)`, `value` text."""

    def read(op):
        check_keys(op, ("op", "value"))
        value = arg(op, "value", TEXT, required=True)
        return lambda: function(value)

    return read


def _base64_hmac(op):
    check_keys(op, ("op", "salt", "value", "key", "algorithm"))
    salt = arg(op, "salt", SCALAR, required=True)
    value = arg(op, "value", SCALAR, required=True)
    key = arg(op, "key", SCALAR, required=True)
    options = kwargs(algorithm=arg(op, "algorithm", TEXT))
    return lambda: signing.base64_hmac(salt, value, key, **options)


def _salted_hmac(op):
    check_keys(op, ("op", "key_salt", "value", "secret", "algorithm"))
    key_salt = arg(op, "key_salt", SCALAR, required=True)
    value = arg(op, "value", SCALAR, required=True)
    options = kwargs(secret=arg(op, "secret", TEXT_OR_NULL), algorithm=arg(op, "algorithm", TEXT))
    return lambda: salted_hmac(key_salt, value, **options).hexdigest()


def _constant_time_compare(op):
    check_keys(op, ("op", "val1", "val2"))
    val1 = arg(op, "val1", SCALAR, required=True)
    val2 = arg(op, "val2", SCALAR, required=True)
    return lambda: constant_time_compare(val1, val2)


SIGNING_OPS = {
    "sign": _sign,
    "unsign": _unsign,
    "signature": _signature,
    "sign_object": _sign_object,
    "unsign_object": _unsign_object,
    "timestamp": _timestamp,
    "dumps": _dumps,
    "loads": _loads,
    "b62_encode": _b62_encode,
    "b62_decode": _one_text(signing.b62_decode),
    "b64_encode": _one_text(signing.b64_encode),
    "b64_decode": _one_text(signing.b64_decode),
    "base64_hmac": _base64_hmac,
    "salted_hmac": _salted_hmac,
    "constant_time_compare": _constant_time_compare,
}


def _result(call):
    try:
        return {"value": call()}
    except signing.SignatureExpired:  # a BadSignature subclass: test it first
        return {"error": "SignatureExpired"}
    except signing.BadSignature:
        return {"error": "BadSignature"}


@contract_view
def signing_ops(request):
    calls = read_ops(request, SIGNING_OPS)
    return json_response({"results": [_result(call) for call in calls]})
