//! A self-signed certificate for `localhost`, and rustls configurations around it.
#![allow(dead_code)] // each test binary uses a part

use std::sync::Arc;

pub struct TestCert {
    pub der: rustls::pki_types::CertificateDer<'static>,
    pub pem: String,
    key: Vec<u8>,
}

pub fn localhost() -> TestCert {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    TestCert {
        der: made.cert.der().clone(),
        pem: made.cert.pem(),
        key: made.key_pair.serialize_der(),
    }
}

impl TestCert {
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(self.key.clone().into());
        Arc::new(
            rustls::ServerConfig::builder()
                .with_no_client_auth()
                .with_single_cert(vec![self.der.clone()], key)
                .unwrap(),
        )
    }

    pub fn client_config(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.der.clone()).unwrap();
        Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }

    /// The PEM in a file of its own, for curl's `--cacert`.
    pub fn pem_file(&self) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "goru-test-cert-{}-{}.pem",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}
