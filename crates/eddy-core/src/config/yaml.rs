//! Flattening `config.yaml` into dotted keys.

use std::collections::BTreeMap;

use yaml_rust2::{Yaml, YamlLoader};

/// Parses YAML and flattens nested maps: `a: {b: 1}` and `a.b: 1` both give `a.b = "1"`.
/// Lists become Flink's `;`-separated form.
pub(crate) fn flatten_yaml(text: &str) -> Result<BTreeMap<String, String>, String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| {
        format!(
            "line {}, column {}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        )
    })?;
    let mut out = BTreeMap::new();
    match docs.first() {
        None | Some(Yaml::Null) => {}
        Some(Yaml::Hash(_)) => flatten("", &docs[0], &mut out)?,
        Some(_) => return Err("the top level must be a map of configuration keys".into()),
    }
    Ok(out)
}

fn flatten(prefix: &str, node: &Yaml, out: &mut BTreeMap<String, String>) -> Result<(), String> {
    match node {
        Yaml::Hash(map) => {
            for (k, v) in map {
                let key = scalar(k).ok_or_else(|| format!("unsupported key under '{prefix}'"))?;
                let full = if prefix.is_empty() {
                    key
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&full, v, out)?;
            }
        }
        Yaml::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(scalar).collect();
            let parts =
                parts.ok_or_else(|| format!("'{prefix}' must be a list of plain values"))?;
            out.insert(prefix.to_string(), parts.join(";"));
        }
        Yaml::Null => {}
        other => {
            let value = scalar(other).ok_or_else(|| format!("unsupported value for '{prefix}'"))?;
            out.insert(prefix.to_string(), value);
        }
    }
    Ok(())
}

fn scalar(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}
