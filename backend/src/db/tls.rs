//! The private cluster's certificates: a certificate authority the lab makes, and the server
//! certificate it signs, so that clients can check the server (`sslmode=verify-full`) the way
//! they would in production, with nothing downloaded and no system store touched.
//!
//! Made once into `<data dir>/tls/` and kept: `ca.crt` (what clients trust; give it to `psql` as
//! `sslrootcert`), `server.crt` and `server.key` (the server's, readable only by the user the
//! server runs as). The CA's own key is thrown away after signing: nothing else will ever be
//! signed by it. The server certificate names `localhost` and `127.0.0.1`, where the private
//! cluster (and the lab's network proxy in front of it) listens.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use crate::db::cluster::{ClusterError, RunAs, write_private};

/// The files of the lab's certificate authority and server certificate.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TlsFiles {
    fn in_dir(dir: &Path) -> TlsFiles {
        let tls = dir.join("tls");
        TlsFiles {
            ca_cert: tls.join("ca.crt"),
            server_cert: tls.join("server.crt"),
            server_key: tls.join("server.key"),
        }
    }

    /// The certificates in `dir/tls`, made there if any is missing; the server's key is handed
    /// to `run_as` (PostgreSQL refuses a key others can read).
    pub(crate) fn ensure(dir: &Path, run_as: Option<RunAs>) -> Result<TlsFiles, ClusterError> {
        let files = TlsFiles::in_dir(dir);
        let complete = [&files.ca_cert, &files.server_cert, &files.server_key].iter().all(|p| p.is_file());
        if !complete {
            let tls = dir.join("tls");
            fs::create_dir_all(&tls)
                .map_err(|source| ClusterError::Io { what: format!("creating {}", tls.display()), source })?;
            let made = make().map_err(ClusterError::Certificate)?;
            write_private(&files.server_key, &made.server_key)?;
            write_public(&files.server_cert, &made.server_cert)?;
            write_public(&files.ca_cert, &made.ca_cert)?;
            tracing::info!(dir = %tls.display(), "made the lab's certificate authority and server certificate");
        }
        if let Some(r) = run_as {
            r.chown(&dir.join("tls"))?;
            r.chown(&files.server_key)?;
            r.chown(&files.server_cert)?;
        }
        Ok(files)
    }
}

fn write_public(path: &Path, text: &str) -> Result<(), ClusterError> {
    fs::write(path, text).map_err(|source| ClusterError::Io { what: format!("writing {}", path.display()), source })
}

struct Made {
    ca_cert: String,
    server_cert: String,
    server_key: String,
}

fn make() -> Result<Made, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name.push(DnType::CommonName, "Pool Lab private CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate()?;
    // `new` reads "127.0.0.1" as an IP address name, which verify-full checks against the host.
    let mut server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    server.distinguished_name.push(DnType::CommonName, "Pool Lab private PostgreSQL");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer)?;
    Ok(Made { ca_cert: ca_cert.pem(), server_cert: server_cert.pem(), server_key: server_key.serialize_pem() })
}
