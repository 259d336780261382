//! HTTPS: a local TLS server with a certificate from a private CA. The
//! client reaches it when told to trust that CA, and refuses it otherwise.
//! (r-nacos serves plain HTTP only, so a small rustls server stands in.)
#![cfg(feature = "tls")]

mod support;

use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nacos_blocking::NacosClient;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Nacos 2.4.3's `GET /v1/ns/operator/metrics?onlyStatus=false`, trimmed.
const V1_METRICS: &str = r#"{"status":"UP","serviceCount":0,"instanceCount":0}"#;

/// A TLS server on 127.0.0.1 answering every request with the v1 metrics
/// of a Nacos 2.x server (`onlyStatus=false`: the API probe reads v1).
struct TlsServer {
    port: u16,
    ca_pem: String,
    requests: Arc<AtomicUsize>,
}

impl TlsServer {
    fn start() -> TlsServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let ca_pem = ck.cert.pem();
        let certs = vec![CertificateDer::from(ck.cert.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
        let config = Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (config, seen) = (config.clone(), seen.clone());
                std::thread::spawn(move || {
                    stream
                        .set_read_timeout(Some(Duration::from_secs(5)))
                        .unwrap();
                    let conn = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    if support::fake::read_request(&mut tls).is_none() {
                        return; // handshake refused or closed
                    }
                    seen.fetch_add(1, Ordering::SeqCst);
                    let body = V1_METRICS;
                    let _ = write!(
                        tls,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.flush();
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        TlsServer {
            port,
            ca_pem,
            requests,
        }
    }
}

#[test]
fn https_with_a_trusted_private_ca_works() {
    let server = TlsServer::start();
    let c = NacosClient::builder()
        .server_addr(format!("https://127.0.0.1:{}", server.port))
        .tls_root_certificates_pem(server.ca_pem.as_bytes())
        .build()
        .unwrap();
    assert_eq!(c.server_status().unwrap(), "UP");
    // The API probe (`Api::Auto`: this fake answers every path) and the call.
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[test]
fn https_with_an_untrusted_certificate_is_refused() {
    let server = TlsServer::start();
    let c = NacosClient::builder()
        .server_addr(format!("https://127.0.0.1:{}", server.port))
        .retries(0)
        .build()
        .unwrap();
    let e = c.server_status().unwrap_err();
    assert!(
        matches!(e, nacos_blocking::Error::Transport { .. }),
        "{e:?}"
    );
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
    assert_eq!(server.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn a_pem_without_certificates_is_refused_at_build() {
    let e = NacosClient::builder()
        .server_addr("https://127.0.0.1:1")
        .tls_root_certificates_pem("not a pem".as_bytes())
        .build()
        .unwrap_err();
    assert_eq!(e.invalid_field(), Some("tls_root_certificates_pem"));
}
