//! The REST endpoint's options, with Flink's keys.

use std::borrow::Cow;

use eddy_core::config::{ConfigError, ConfigOption, Configuration};

use crate::server::RestServerConfig;

/// `rest.port` (also `rest.bind-port`): the REST endpoint's port; 0 picks a free one. A
/// program's embedded cluster serves the REST API only when it is set; `eddy run` serves it
/// by default (see [`server_config`]).
pub const REST_PORT: ConfigOption<u32> = ConfigOption {
    key: "rest.port",
    fallback_keys: &["rest.bind-port"],
    default: 8081,
    description: "Port of the REST endpoint (0: a free port); eddy run serves the REST API on 8081 (or a free port if 8081 is taken) unless set, a program's embedded cluster only when it is set.",
};

/// `rest.address` (also `rest.bind-address`): the address the REST endpoint binds.
pub const REST_ADDRESS: ConfigOption<Cow<'static, str>> = ConfigOption {
    key: "rest.address",
    fallback_keys: &["rest.bind-address"],
    default: Cow::Borrowed("localhost"),
    description:
        "Address the REST endpoint binds (localhost by default; 0.0.0.0 for every interface).",
};

/// Where to serve the REST API: on `rest.port` if it is set; otherwise, when `by_default`
/// (under `eddy run`), on 8081 or a free port if that one is taken; otherwise nowhere.
pub fn server_config(
    config: &Configuration,
    by_default: bool,
) -> Result<Option<RestServerConfig>, ConfigError> {
    let (port, fall_back_to_a_free_port) = match config.get_optional(&REST_PORT)? {
        Some(port) => (port, false),
        None if by_default => (REST_PORT.default, true),
        None => return Ok(None),
    };
    let port = u16::try_from(port)
        .map_err(|_| config.reject(&REST_PORT, "a port is at most 65535 (0: a free port)"))?;
    Ok(Some(RestServerConfig {
        address: config.get(&REST_ADDRESS)?.trim().to_string(),
        port,
        fall_back_to_a_free_port,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_runs_when_a_valid_port_is_set_or_by_default_under_eddy_run() {
        let mut config = Configuration::new();
        assert_eq!(server_config(&config, false).unwrap(), None);
        assert_eq!(
            server_config(&config, true).unwrap(),
            Some(RestServerConfig {
                address: "localhost".into(),
                port: 8081,
                fall_back_to_a_free_port: true,
            })
        );
        config.set_string("rest.bind-port", "0");
        config.set_string("rest.address", " 127.0.0.1 ");
        let explicit = Some(RestServerConfig {
            address: "127.0.0.1".into(),
            port: 0,
            fall_back_to_a_free_port: false,
        });
        assert_eq!(server_config(&config, false).unwrap(), explicit);
        assert_eq!(server_config(&config, true).unwrap(), explicit);
        config.set_string("rest.port", "70000");
        let error = server_config(&config, false).unwrap_err().to_string();
        assert!(
            error.contains("rest.port") && error.contains("65535"),
            "{error}"
        );
        config.set_string("rest.port", "http");
        let error = server_config(&config, false).unwrap_err().to_string();
        assert!(error.contains("rest.port"), "{error}");
    }
}
