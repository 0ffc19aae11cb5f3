//! Tool schemas: BFCL's schema dialect mapped to JSON Schema and compiled once, with the original kept for the
//! BFCL-compatible checker (which reads BFCL's own type names).

use serde_json::{Map, Value};

use super::ToolDef;

#[derive(Debug)]
pub(super) struct CompiledTool {
    pub(super) name: String,
    /// The parameters as given (BFCL dialect: `dict`, `float`, `tuple`, `any`).
    pub(super) raw: Value,
    /// Parameters schema with BFCL types mapped to JSON Schema.
    pub(super) schema: Value,
    pub(super) validator: Result<jsonschema::Validator, String>,
}

impl CompiledTool {
    pub(super) fn new(def: &ToolDef) -> Self {
        let schema = to_json_schema(&def.parameters);
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("tool {:?}: invalid parameters schema: {e}", def.name));
        CompiledTool {
            name: def.name.clone(),
            raw: def.parameters.clone(),
            schema,
            validator,
        }
    }

    pub(super) fn properties(&self) -> Option<&Map<String, Value>> {
        self.schema.get("properties").and_then(Value::as_object)
    }

    pub(super) fn property(&self, arg: &str) -> Option<&Value> {
        self.properties().and_then(|p| p.get(arg))
    }

    pub(super) fn required(&self) -> impl Iterator<Item = &str> {
        self.schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}

/// Maps the BFCL schema dialect to JSON Schema: `dict` → `object`, `float` →
/// `number`, `tuple` → `array`; `any` and non-JSON-Schema type names (e.g. Java
/// `String`) drop the `type` constraint.
pub(super) fn to_json_schema(v: &Value) -> Value {
    fn map_type(t: &str) -> Option<&'static str> {
        Some(match t {
            "dict" | "object" => "object",
            "float" | "number" => "number",
            "tuple" | "array" => "array",
            "integer" => "integer",
            "string" => "string",
            "boolean" => "boolean",
            "null" => "null",
            _ => return None,
        })
    }
    match v {
        Value::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, val) in m {
                if k == "type" {
                    match val {
                        Value::String(t) => {
                            if let Some(t) = map_type(t) {
                                out.insert(k.clone(), Value::String(t.to_string()));
                            }
                        }
                        Value::Array(ts) => {
                            let mapped: Option<Vec<Value>> = ts
                                .iter()
                                .map(|t| t.as_str().and_then(map_type).map(Value::from))
                                .collect();
                            if let Some(mapped) = mapped {
                                out.insert(k.clone(), Value::Array(mapped));
                            }
                        }
                        other => {
                            out.insert(k.clone(), other.clone());
                        }
                    }
                } else {
                    out.insert(k.clone(), to_json_schema(val));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}
