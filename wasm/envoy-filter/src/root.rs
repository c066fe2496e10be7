//! The root context: reads the plugin config once and hands it to every HTTP context.

use std::rc::Rc;

use log::{error, info};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType};

use crate::host;
use crate::http::Filter;
use crate::metrics::Metrics;

/// Per-VM state shared by the VM's HTTP contexts.
#[derive(Debug, Default)]
pub struct Root {
    shared: Option<Rc<crate::http::Shared>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = match host::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX) {
            Ok(bytes) => bytes.unwrap_or_default(),
            Err(e) => {
                error!("prw-edge: cannot read the plugin configuration: {e}");
                return false;
            }
        };
        match crate::config::parse(&bytes) {
            Ok(config) => {
                info!(
                    "prw-edge: configured, mode {:?}, write paths {:?}",
                    config.mode, config.write_paths
                );
                let metrics = Metrics::define_all(&config);
                self.shared = Some(Rc::new(crate::http::Shared { config, metrics }));
                true
            }
            Err(err) => {
                error!("prw-edge: {err}");
                false
            }
        }
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        // Without a configuration (on_configure failed) Envoy does not create streams; if it
        // ever does, no filter is the safe answer.
        self.shared
            .as_ref()
            .map(|shared| Box::new(Filter::new(Rc::clone(shared))) as Box<dyn HttpContext>)
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}
