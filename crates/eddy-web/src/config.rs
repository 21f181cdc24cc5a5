//! The REST endpoint's options, with Flink's keys.

use std::borrow::Cow;

use eddy_core::config::{ConfigError, ConfigOption, Configuration};

use crate::server::RestServerConfig;

/// `rest.port` (also `rest.bind-port`): the REST endpoint's port; 0 picks a free one. The
/// embedded cluster serves the REST API only when it is set.
pub const REST_PORT: ConfigOption<u32> = ConfigOption {
    key: "rest.port",
    fallback_keys: &["rest.bind-port"],
    default: 8081,
    description: "Port of the REST endpoint (0: a free port); the embedded cluster serves the REST API when it is set.",
};

/// `rest.address` (also `rest.bind-address`): the address the REST endpoint binds.
pub const REST_ADDRESS: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "rest.address",
    fallback_keys: &["rest.bind-address"],
    default: Cow::Borrowed("localhost"),
    description:
        "Address the REST endpoint binds (localhost by default; 0.0.0.0 for every interface).",
};

/// Where to serve the REST API, if `rest.port` is set.
pub fn server_config(config: &Configuration) -> Result<Option<RestServerConfig>, ConfigError> {
    let Some(port) = config.get_optional(&REST_PORT)? else {
        return Ok(None);
    };
    let port = u16::try_from(port)
        .map_err(|_| config.reject(&REST_PORT, "a port is at most 65535 (0: a free port)"))?;
    Ok(Some(RestServerConfig {
        address: config.get(&REST_ADDRESS)?.trim().to_string(),
        port,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_runs_only_when_a_valid_port_is_set() {
        let mut config = Configuration::new();
        assert_eq!(server_config(&config).unwrap(), None);
        config.set_string("rest.bind-port", "0");
        config.set_string("rest.address", " 127.0.0.1 ");
        assert_eq!(
            server_config(&config).unwrap(),
            Some(RestServerConfig {
                address: "127.0.0.1".into(),
                port: 0
            })
        );
        config.set_string("rest.port", "70000");
        let error = server_config(&config).unwrap_err().to_string();
        assert!(
            error.contains("rest.port") && error.contains("65535"),
            "{error}"
        );
        config.set_string("rest.port", "http");
        let error = server_config(&config).unwrap_err().to_string();
        assert!(error.contains("rest.port"), "{error}");
    }
}
