//! `shutdown()` returns within about a second whatever the client's
//! settings: retries, timeout, `deregister_on_shutdown`, a live or a frozen
//! server, with a registered instance and a config watch whose long poll
//! is held. Calls cut short by the shutdown are never tried again, and the
//! pauses between rounds end at the stop signal.

mod support;

use std::time::{Duration, Instant};

use nacos_blocking::{Instance, NacosClient};
use support::{unique, RNacos};

#[test]
fn shutdown_is_bounded_whatever_the_settings() {
    let server = RNacos::start();
    let mut slow = Vec::new();
    for frozen in [false, true] {
        for retries in [0, 2, 5, 20] {
            for leave in [false, true] {
                let case = format!("retries {retries}, leave {leave}, frozen {frozen}");
                let c = NacosClient::builder()
                    .server_addr(server.addr())
                    .retries(retries)
                    .timeout(Duration::from_secs(10))
                    .deregister_on_shutdown(leave)
                    .disk_cache(false)
                    .build()
                    .unwrap();
                let svc = unique("bounded");
                let inst = Instance::builder("10.61.0.1", 6100 + retries as u16)
                    .metadata("preserved.heart.beat.interval", "200")
                    .build();
                c.register_instance(&svc, &inst).unwrap();
                let id = unique("bounded-cfg");
                c.publish_config(id.as_str(), "v").unwrap();
                let watcher = c.watch_config(id.as_str()).unwrap();
                watcher.recv_timeout(Duration::from_secs(5)).unwrap();
                // The long poll is held now, beats go every 200 ms.
                std::thread::sleep(Duration::from_millis(400));
                if frozen {
                    server.freeze();
                    std::thread::sleep(Duration::from_millis(300));
                }
                let t = Instant::now();
                let result = c.shutdown();
                let took = t.elapsed();
                if frozen {
                    server.thaw();
                }
                // A frozen server holds beats on the wire: the graceful
                // leave waits for them for its whole second, then gives up.
                let bound = if leave && frozen {
                    Duration::from_millis(2000)
                } else {
                    Duration::from_millis(1500)
                };
                if took >= bound {
                    slow.push(format!("{case}: {took:?}"));
                }
                if leave && !frozen {
                    assert!(result.is_ok(), "{case}: {result:?}");
                    let observer = NacosClient::builder()
                        .server_addr(server.addr())
                        .disk_cache(false)
                        .build()
                        .unwrap();
                    let hosts = observer.list_instances(&svc).unwrap().hosts;
                    assert!(hosts.is_empty(), "{case}: still registered: {hosts:?}");
                    observer.shutdown().unwrap();
                }
                drop(watcher);
            }
        }
    }
    assert!(slow.is_empty(), "shutdown too slow: {slow:#?}");
}
