//! `openapi.yaml`, read as the checks need it: operations, resolved
//! responses, object schemas flattened through `allOf`, allowed values.

use std::collections::{BTreeMap, BTreeSet};

use http::Method;
use serde_json::Value;

const DOCUMENT: &str = include_str!("../../openapi.yaml");

pub struct Spec(pub Value);

impl Spec {
    pub fn load() -> Spec {
        Spec(serde_norway::from_str(DOCUMENT).expect("openapi.yaml is YAML"))
    }

    /// Follows a local `$ref`, as often as it takes.
    pub fn resolve<'a>(&'a self, mut node: &'a Value) -> &'a Value {
        while let Some(target) = node["$ref"].as_str() {
            node = self.target(target);
        }
        node
    }

    /// What one local `$ref` points at.
    fn target(&self, reference: &str) -> &Value {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{reference} is not a local $ref"));
        self.0
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{reference} points at nothing"))
    }

    /// (path, method, operation) for every operation.
    pub fn operations(&self) -> Vec<(&str, Method, &Value)> {
        let mut operations = Vec::new();
        for (path, item) in self.0["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                if method == "parameters" {
                    continue;
                }
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                operations.push((path.as_str(), method, operation));
            }
        }
        operations
    }

    /// The responses of every operation, as (where, status) with the
    /// resolved response. A 405 answers methods a path has no operation
    /// for, so it is filed under the path with the method `*`.
    pub fn responses(&self) -> BTreeMap<(Where, u16), &Value> {
        let mut responses = BTreeMap::new();
        for (path, method, operation) in self.operations() {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                let status: u16 = status.parse().expect("a numeric status");
                let place = Where::new(path, &method, status);
                responses.insert((place, status), self.resolve(response));
            }
        }
        responses
    }

    /// The schemas that may describe a value at this node: the node, or
    /// each alternative of its `oneOf` / `anyOf`.
    pub fn alternatives<'a>(&'a self, node: &'a Value) -> Vec<&'a Value> {
        let node = self.resolve(node);
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = node[key].as_array() {
                return options.iter().flat_map(|o| self.alternatives(o)).collect();
            }
        }
        vec![node]
    }

    /// An object schema flattened through `allOf`: each property with every
    /// schema that speaks of it, and the required keys.
    pub fn object<'a>(&'a self, node: &'a Value, into: &mut Object<'a>) {
        let node = self.resolve(node);
        for part in node["allOf"].as_array().into_iter().flatten() {
            self.object(part, into);
        }
        for (key, schema) in node["properties"].as_object().into_iter().flatten() {
            into.properties.entry(key.clone()).or_default().push(schema);
        }
        for key in node["required"].as_array().into_iter().flatten() {
            into.required
                .insert(key.as_str().expect("required key").to_owned());
        }
    }

    pub fn object_of<'a>(&'a self, schemas: &[&'a Value]) -> Object<'a> {
        let mut object = Object::default();
        for schema in schemas {
            for alternative in self.alternatives(schema) {
                self.object(alternative, &mut object);
            }
        }
        object
    }

    /// Every key path an instance of this schema can have.
    pub fn key_paths(&self, at: &str, schemas: &[&Value], into: &mut BTreeSet<String>) {
        let object = self.object_of(schemas);
        for (key, schemas) in &object.properties {
            let path = format!("{at}.{key}");
            into.insert(path.clone());
            self.key_paths(&path, schemas, into);
        }
        let items: Vec<&Value> = schemas
            .iter()
            .flat_map(|s| self.alternatives(s))
            .filter_map(|s| s.get("items"))
            .collect();
        if !items.is_empty() {
            self.key_paths(&format!("{at}[]"), &items, into);
        }
    }

    /// The values a property is held to by the most specific `enum` or
    /// `const` that speaks of it.
    pub fn allowed(&self, schemas: &[&Value]) -> Option<BTreeSet<String>> {
        schemas.iter().rev().find_map(|schema| {
            let schema = self.resolve(schema);
            let values = match (&schema["enum"], &schema["const"]) {
                (Value::Array(values), _) => values.clone(),
                (_, Value::Null) => return None,
                (_, value) => vec![value.clone()],
            };
            Some(
                values
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
    }

    /// The problem codes a response body's schema allows, when it has a
    /// `code` held to an enum or a const.
    pub fn codes(&self, schema: &Value) -> Option<BTreeSet<String>> {
        let object = self.object_of(&[schema]);
        object.properties.get("code").and_then(|s| self.allowed(s))
    }

    /// The name of the component schema a body is an instance of. A
    /// narrowed problem (`allOf` of `Problem` and a `code`) is a `Problem`.
    pub fn schema_name<'a>(&'a self, mut node: &'a Value) -> String {
        let mut name = None;
        loop {
            if let Some(first) = node.get("allOf").and_then(|all| all.get(0)) {
                node = first;
                continue;
            }
            let Some(target) = node["$ref"].as_str() else {
                break;
            };
            name = target.rsplit('/').next();
            node = self.target(target);
        }
        name.unwrap_or_else(|| panic!("response schema without a $ref: {node}"))
            .to_owned()
    }
}

#[derive(Default)]
pub struct Object<'a> {
    pub properties: BTreeMap<String, Vec<&'a Value>>,
    pub required: BTreeSet<String>,
}

/// An operation, or for a 405 a whole path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Where {
    pub path: String,
    pub method: String,
}

impl Where {
    pub fn new(path: &str, method: &Method, status: u16) -> Where {
        let method = if status == 405 { "*" } else { method.as_str() };
        Where {
            path: path.to_owned(),
            method: method.to_owned(),
        }
    }
}

impl std::fmt::Display for Where {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}
