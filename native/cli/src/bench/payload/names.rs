//! Realistic names: metric names a Kubernetes cluster really exports (node_exporter,
//! kube-state-metrics, cAdvisor, Go and process collectors, HTTP servers) and the label
//! names Prometheus' Kubernetes service discovery and relabelling usually attach.

use super::SplitMix64;

/// Real metric names, used round-robin for `__name__`.
pub const METRIC_NAMES: &[&str] = &[
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "go_goroutines",
    "go_memstats_alloc_bytes",
    "go_gc_duration_seconds_sum",
    "go_gc_duration_seconds_count",
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_sum",
    "http_request_duration_seconds_count",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "container_memory_rss",
    "container_network_receive_bytes_total",
    "container_network_transmit_bytes_total",
    "container_fs_reads_bytes_total",
    "kube_pod_status_phase",
    "kube_pod_container_status_restarts_total",
    "kube_deployment_status_replicas_available",
    "kube_node_status_condition",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_filesystem_avail_bytes",
    "node_network_receive_bytes_total",
    "node_load1",
    "node_disk_io_time_seconds_total",
    "grpc_server_handled_total",
    "grpc_server_handling_seconds_bucket",
];

/// Label names after `__name__`, in the order they are added (`--labels 10` uses the
/// first nine). Beyond this list, `extra_label_NN`.
pub const LABEL_NAMES: &[&str] = &[
    "namespace",
    "pod",
    "container",
    "instance",
    "job",
    "node",
    "service",
    "endpoint",
    "cluster",
    "region",
    "zone",
    "app_kubernetes_io_name",
];

const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "monitoring",
    "payments",
    "checkout",
    "ingress-nginx",
    "cert-manager",
    "search",
];
const APPS: &[&str] = &[
    "api-gateway",
    "cart",
    "checkout",
    "payments",
    "frontend",
    "recommendation",
    "inventory",
    "shipping",
];
const REGIONS: &[&str] = &["eu-west-1", "us-east-1", "us-west-2", "ap-southeast-1"];

/// A plausible value of label `name` for the `replica`-th copy of a metric name.
/// `pod` and `instance` are unique per replica so every series' label set is distinct.
pub(super) fn value_of(name: &str, replica: usize, rng: &mut SplitMix64) -> String {
    let app = APPS[replica % APPS.len()];
    let pick = |list: &[&str], rng: &mut SplitMix64| {
        list[rng.below(list.len() as u64) as usize].to_string()
    };
    match name {
        "namespace" => pick(NAMESPACES, rng),
        "pod" => format!("{app}-{:08x}-{replica:05}", rng.next_u64() as u32),
        "container" | "service" | "app_kubernetes_io_name" => app.to_string(),
        "instance" => format!(
            "10.{}.{}.{}:{}",
            (replica >> 16) & 0xff,
            (replica >> 8) & 0xff,
            replica & 0xff,
            8080 + rng.below(10)
        ),
        "job" => format!("kubernetes-pods/{app}"),
        "node" => format!("ip-10-0-{}-{}.ec2.internal", rng.below(16), rng.below(256)),
        "endpoint" => "http-metrics".to_string(),
        "cluster" => format!("prod-{}", rng.below(3)),
        "region" => pick(REGIONS, rng),
        "zone" => format!(
            "{}{}",
            pick(REGIONS, rng),
            ["a", "b", "c"][rng.below(3) as usize]
        ),
        _ => format!("value-{}", rng.below(1000)),
    }
}
