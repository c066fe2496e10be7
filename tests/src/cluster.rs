//! Three `prw relay`s behind a real Envoy running `envoy/cluster.yaml` (failover) or
//! `envoy/cluster-strict.yaml`: start them, wait until Envoy sees every relay healthy, find
//! out which relay a sender's stream lands on, read Envoy's cluster stats.
//!
//! Envoy's ring depends on the relays' addresses, which are free ports chosen per run, so a
//! test cannot know in advance where a tenant or a sender address hashes to. [`Cluster::route_of`]
//! sends one probe write and sees which relay's `prw_ingest_requests_total` moved;
//! [`Cluster::one_per_relay`] probes candidates until each relay has one (the logic is
//! [`prw_devkit::routing`], shared with `cargo xtask bench --relays`). Probe series are
//! `prw_e2e_probe{job="probe"}` (tests select their own jobs, so probes never count).
//!
//! Invariants: relays and Envoy are killed when the [`Cluster`] drops (their own guards);
//! probing needs a quiet cluster (no other writes in flight), so it happens before the
//! senders start.

use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use prw_devkit::routing;

use crate::envoy::{Envoy, EnvoyError, EnvoyParams, Template};
use crate::forwarder::Forwarder;
use crate::http;
use crate::payload::{Series, v1};
use crate::relay::{Relay, RelayError};

/// Relays in the shipped cluster templates.
pub const RELAYS: usize = 3;
/// Envoy's name of the relay cluster in the templates.
pub const CLUSTER_NAME: &str = "relays";

/// Why the cluster could not be run or probed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A relay.
    #[error(transparent)]
    Relay(#[from] RelayError),
    /// Envoy.
    #[error(transparent)]
    Envoy(#[from] EnvoyError),
    /// A probe or a wait.
    #[error("{0}")]
    Probe(String),
}

/// Three relays and the Envoy in front of them.
#[derive(Debug)]
pub struct Cluster {
    /// The relays, in the order of the template's endpoints (9211, 9212, 9213).
    pub relays: Vec<Relay>,
    /// Envoy.
    pub envoy: Envoy,
}

impl Cluster {
    /// Starts [`RELAYS`] relays from `relay_yaml` (each its own WAL; `--shutdown-grace
    /// shutdown_grace`) and Envoy with `template` in front, then waits until Envoy reports
    /// every relay healthy.
    pub fn start(
        prw: &Path,
        envoy_bin: &Path,
        template: Template,
        relay_yaml: &str,
        shutdown_grace: Duration,
        wasm: &Path,
    ) -> Result<Cluster, ClusterError> {
        let yamls = vec![relay_yaml.to_owned(); RELAYS];
        Cluster::start_each(prw, envoy_bin, template, &yamls, shutdown_grace, wasm)
    }

    /// [`Cluster::start`] with one config per relay (`relay_yamls[k]` for relay `k`), e.g.
    /// to send one relay's deliveries through a closable [`crate::forwarder::Forwarder`].
    pub fn start_each(
        prw: &Path,
        envoy_bin: &Path,
        template: Template,
        relay_yamls: &[String],
        shutdown_grace: Duration,
        wasm: &Path,
    ) -> Result<Cluster, ClusterError> {
        let relays = relay_yamls
            .iter()
            .map(|yaml| Relay::start_with_shutdown_grace(prw, yaml, shutdown_grace))
            .collect::<Result<Vec<_>, _>>()?;
        let params = EnvoyParams {
            relay_ports: relays.iter().map(|r| r.addr().port()).collect(),
            ..EnvoyParams::new(0, wasm.to_path_buf())
        };
        let envoy = Envoy::start(envoy_bin, &template.render(&params)?)?;
        let cluster = Cluster { relays, envoy };
        cluster.wait_healthy(cluster.relays.len(), Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// The sum of Envoy's stat `name` for the relay cluster (0 when absent).
    pub fn envoy_stat(&self, name: &str) -> Result<f64, ClusterError> {
        self.envoy_stat_where(name, "")
    }

    /// [`Cluster::envoy_stat`] over the label sets that also contain `label` (e.g.
    /// `envoy_response_code_class="5"`).
    pub fn envoy_stat_where(&self, name: &str, label: &str) -> Result<f64, ClusterError> {
        let text = self.envoy.stats_prometheus()?;
        let cluster = format!("envoy_cluster_name=\"{CLUSTER_NAME}\"");
        let keep = |labels: &str| labels.contains(&cluster) && labels.contains(label);
        Ok(http::metric_sum_where(&text, name, keep).unwrap_or(0.0))
    }

    /// Envoy's per-host stat `stat` (`rq_error`, `rq_success`, `cx_connect_fail`, ...) of
    /// relay `k`, from the admin `/clusters` page (lines `relays::ADDR::STAT::VALUE`).
    pub fn host_stat(&self, k: usize, stat: &str) -> Result<f64, ClusterError> {
        let addr = self
            .relays
            .get(k)
            .map(Relay::addr)
            .ok_or_else(|| ClusterError::Probe(format!("no relay {k}")))?;
        let (_, text) = self.envoy.admin_get("/clusters")?;
        let prefix = format!("{CLUSTER_NAME}::{addr}::{stat}::");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix)?.trim().parse::<f64>().ok())
            .ok_or_else(|| ClusterError::Probe(format!("no {prefix}VALUE line in /clusters")))
    }

    /// Waits until Envoy counts `healthy` healthy relays.
    pub fn wait_healthy(&self, healthy: usize, timeout: Duration) -> Result<(), ClusterError> {
        crate::wait::until(
            &format!("Envoy to see {healthy} healthy relays"),
            timeout,
            || {
                let seen = self
                    .envoy_stat("envoy_cluster_membership_healthy")
                    .map_err(|e| e.to_string())?;
                if seen as usize == healthy {
                    Ok(())
                } else {
                    Err(format!("{seen} healthy"))
                }
            },
        )
        .map_err(ClusterError::Probe)
    }

    /// Write requests each relay has answered (`prw_ingest_requests_total`); `None` for a
    /// relay that does not answer.
    pub fn requests_per_relay(&self) -> Vec<Option<f64>> {
        self.relays
            .iter()
            .map(|r| r.metric("prw_ingest_requests_total").ok())
            .collect()
    }

    /// Which relay answered the one write `post` sends (it returns the HTTP status).
    pub fn route_of(
        &self,
        post: impl FnOnce(&[u8]) -> Result<u16, String>,
    ) -> Result<usize, ClusterError> {
        let before = self.requests_per_relay();
        let probe = v1(&[Series::new(
            &[("__name__", "prw_e2e_probe"), ("job", "probe")],
            &[(crate::wait::now_ms(), 1.0)],
        )]);
        let status = post(&probe).map_err(ClusterError::Probe)?;
        if !(200..300).contains(&status) {
            return Err(ClusterError::Probe(format!(
                "probe write answered {status}"
            )));
        }
        routing::moved_one(&before, &self.requests_per_relay()).map_err(ClusterError::Probe)
    }

    /// Probes `candidates` in order and keeps the first that lands on each relay: element
    /// `k` of the result lands on relay `k`. Fails when `candidates` run out first.
    pub fn one_per_relay<T>(
        &self,
        candidates: impl IntoIterator<Item = T>,
        post: impl Fn(&T, &[u8]) -> Result<u16, String>,
    ) -> Result<Vec<T>, ClusterError> {
        let found = routing::one_per_relay(self.relays.len(), candidates, |candidate| {
            self.route_of(|body| post(candidate, body)).map(Some)
        })?;
        found.map_err(|tried| {
            ClusterError::Probe(format!(
                "{tried} candidates did not cover all {} relays",
                self.relays.len()
            ))
        })
    }

    /// One tenant (`X-Scope-OrgID: tenant-K`, written from 127.0.0.1) per relay: element
    /// `k` lands on relay `k`.
    pub fn tenant_per_relay(&self) -> Result<Vec<String>, ClusterError> {
        let edge = self.envoy.listener();
        self.one_per_relay((0..200).map(|k| format!("tenant-{k}")), |tenant, body| {
            http::post_v1(edge, &[("X-Scope-OrgID", tenant)], body)
                .map(|a| a.status)
                .map_err(|e| e.to_string())
        })
    }

    /// One [`Forwarder`] to Envoy per relay, each connecting from its own 127.0.0.K (writes
    /// without a tenant header): element `k` lands on relay `k`.
    pub fn source_per_relay(&self) -> Result<Vec<Forwarder>, ClusterError> {
        let edge = self.envoy.listener();
        let mut forwarders = (2..=250u8).map(|k| {
            Forwarder::start(edge, Ipv4Addr::new(127, 0, 0, k).into())
                .map_err(|e| ClusterError::Probe(format!("forwarder from 127.0.0.{k}: {e}")))
        });
        let mut failed = None;
        let found = self.one_per_relay(
            std::iter::from_fn(|| match forwarders.next()? {
                Ok(f) => Some(f),
                Err(e) => {
                    failed = Some(e);
                    None
                }
            }),
            |f, body| {
                http::post_v1(f.addr(), &[], body)
                    .map(|a| a.status)
                    .map_err(|e| e.to_string())
            },
        );
        match failed {
            Some(err) => Err(err),
            None => found,
        }
    }
}
