//! JSON bytes exactly as CPython's `json.dumps` writes them (`ensure_ascii=True`), in Django's two
//! flavours: `JsonResponse` (default separators `", "`, `": "`) and signing (compact `","`, `":"`).

use serde_json::Value;

/// `json.dumps(value)`: what `JsonResponse` sends.
pub fn dumps(value: &Value) -> String {
    let _ = value;
    todo!()
}

/// `json.dumps(value, separators=(",", ":"))`: what `django.core.signing` signs.
pub fn dumps_compact(value: &Value) -> String {
    let _ = value;
    todo!()
}
