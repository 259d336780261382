//! Interop with the Python v1 client (`nacos-sdk-python==2.0.11`, module
//! `nacos`) on the same r-nacos: what one writes, the other reads.
//!
//! The interpreter is `$NACOS_PYTHON`, else `python3`; it must import
//! `nacos` (`bash scripts/test.sh` installs it into `target/py-interop`).

mod support;

use std::process::Command;

use nacos_blocking::{Instance, NacosClient, Publish};
use support::{unique, RNacos};

fn python() -> String {
    std::env::var("NACOS_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs a Python snippet with a `client` bound to `addr`; returns stdout.
fn py(addr: &str, body: &str) -> String {
    let script = format!(
        "import json, nacos, logging\nlogging.disable(logging.CRITICAL)\nclient = nacos.NacosClient('{addr}', namespace='')\n{body}\n"
    );
    let out = Command::new(python())
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
    assert!(
        out.status.success(),
        "the Python v1 client failed (install it with `bash scripts/test.sh`, or \
         `pip install nacos-sdk-python==2.0.11` and point NACOS_PYTHON at that python):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn python_registers_we_list_and_the_other_way_round() {
    let server = RNacos::shared();
    let c = NacosClient::new(&server.addr()).unwrap();
    let from_py = unique("py-reg");
    py(
        &server.addr(),
        &format!(
            "client.add_naming_instance('{from_py}', '10.61.0.1', 8001, cluster_name='zone-a', weight=2.5, \
             metadata={{'lang': 'python', 'v': '2.0.11'}}, ephemeral=False)"
        ),
    );
    let info = c.list_instances(from_py.as_str()).unwrap();
    assert_eq!(info.hosts.len(), 1, "{info:?}");
    let h = &info.hosts[0];
    assert_eq!((h.ip.as_str(), h.port, h.weight), ("10.61.0.1", 8001, 2.5));
    assert_eq!(h.cluster_name, "zone-a");
    assert_eq!(h.metadata["lang"], "python");

    let from_rust = unique("rs-reg");
    c.register_instance(
        from_rust.as_str(),
        &Instance::builder("10.61.0.2", 8002)
            .weight(4.0)
            .metadata("lang", "rust")
            .ephemeral(false)
            .build(),
    )
    .unwrap();
    let listed = py(
        &server.addr(),
        &format!(
            "r = client.list_naming_instance('{from_rust}', healthy_only=False)\n\
             h = r['hosts'][0]\nprint(json.dumps([len(r['hosts']), h['ip'], h['port'], h['weight'], h['metadata']['lang']]))"
        ),
    );
    let v: serde_json::Value = serde_json::from_str(listed.trim()).unwrap();
    assert_eq!(v, serde_json::json!([1, "10.61.0.2", 8002, 4.0, "rust"]));

    // Python removes what we registered.
    py(
        &server.addr(),
        &format!(
            "client.remove_naming_instance('{from_rust}', '10.61.0.2', 8002, ephemeral=False)"
        ),
    );
    assert!(c
        .list_instances(from_rust.as_str())
        .unwrap()
        .hosts
        .is_empty());
}

#[test]
fn configs_round_trip_between_the_clients() {
    let server = RNacos::shared();
    let c = NacosClient::new(&server.addr()).unwrap();
    let tricky = "a=1&b=2+3 %20\nnon-ASCII: é 中文\n";
    let id = unique("py-cfg");
    // Python publishes, we read.
    py(
        &server.addr(),
        &format!("client.publish_config('{id}', 'INTEROP', {tricky:?})"),
    );
    assert!(support::eventually(
        std::time::Duration::from_secs(3),
        || { c.get_config((id.as_str(), "INTEROP")).unwrap().as_deref() == Some(tricky) }
    ));
    // We publish, Python reads.
    let id2 = unique("rs-cfg");
    c.publish_config((id2.as_str(), "INTEROP"), Publish::new(tricky))
        .unwrap();
    let read = py(
        &server.addr(),
        &format!("print(json.dumps(client.get_config('{id2}', 'INTEROP', no_snapshot=True)))"),
    );
    let read: String = serde_json::from_str(read.trim()).unwrap();
    assert_eq!(read, tricky);
}
