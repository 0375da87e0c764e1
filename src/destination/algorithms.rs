//! Which SSH algorithms sis-extract offers a vendor's server, and what to say when the two
//! have none in common.
//!
//! The offer is what OpenSSH's own client accepts by default (russh's safe defaults plus
//! `hmac-sha1`, which OpenSSH still offers), never less safe unless the destination names a
//! [`LegacyAlgorithm`] class. A mismatch is reported for every class at once, from the
//! server's KEXINIT ([`server_hello`](super::server_hello)), with a hint per class.

use std::borrow::Cow;

use russh::keys::{Algorithm, EcdsaCurve, HashAlg};
use russh::{Preferred, cipher, kex, mac};

use super::server_hello::Offers;
use crate::config::LegacyAlgorithm;

/// What each legacy class adds, by class: (kex, host keys, ciphers).
fn legacy_kex() -> [kex::Name; 2] {
    [kex::DH_G14_SHA1, kex::DH_GEX_SHA1]
}

fn legacy_ciphers() -> [cipher::Name; 3] {
    [cipher::AES_256_CBC, cipher::AES_192_CBC, cipher::AES_128_CBC]
}

/// The algorithms offered to a server, `host_keys` (if given) limiting the host-key types.
pub fn preferred(legacy: &[LegacyAlgorithm], host_keys: Option<&[Algorithm]>) -> Preferred {
    let defaults = Preferred::default();
    let mut kex_names: Vec<kex::Name> = defaults.kex.to_vec();
    if legacy.contains(&LegacyAlgorithm::Sha1KeyExchange) {
        // Before the pseudo-algorithms (ext-info-c, strict kex), after every real one.
        let at = kex_names.iter().position(|k| k.as_ref().starts_with("ext-info")).unwrap_or(kex_names.len());
        for (i, name) in legacy_kex().into_iter().enumerate() {
            kex_names.insert(at + i, name);
        }
    }
    let mut ciphers: Vec<cipher::Name> = defaults.cipher.to_vec();
    if legacy.contains(&LegacyAlgorithm::CbcCiphers) {
        ciphers.extend(legacy_ciphers());
    }
    // OpenSSH's client offers hmac-sha1 by default (last); so does sis-extract. It is
    // used only with a CTR cipher (AEAD ciphers need no MAC), and HMAC-SHA1 has no known
    // practical attack, unlike SHA-1 signatures.
    let mut macs: Vec<mac::Name> = defaults.mac.to_vec();
    macs.extend([mac::HMAC_SHA1_ETM, mac::HMAC_SHA1]);
    let keys: Vec<Algorithm> = match host_keys {
        Some(keys) => keys.to_vec(),
        None => host_key_groups(legacy).into_iter().flatten().collect(),
    };
    Preferred {
        kex: Cow::Owned(kex_names),
        key: Cow::Owned(keys),
        cipher: Cow::Owned(ciphers),
        mac: Cow::Owned(macs),
        ..defaults
    }
}

/// Host-key algorithms by key type, in sis-extract's order of preference: a server has
/// at most one key of each type, and the pin names one of them.
pub fn host_key_groups(legacy: &[LegacyAlgorithm]) -> Vec<Vec<Algorithm>> {
    let mut rsa =
        vec![Algorithm::Rsa { hash: Some(HashAlg::Sha512) }, Algorithm::Rsa { hash: Some(HashAlg::Sha256) }];
    if legacy.contains(&LegacyAlgorithm::SshRsaHostKey) {
        rsa.push(Algorithm::Rsa { hash: None });
    }
    vec![
        vec![Algorithm::Ed25519],
        vec![
            Algorithm::Ecdsa { curve: EcdsaCurve::NistP256 },
            Algorithm::Ecdsa { curve: EcdsaCurve::NistP384 },
            Algorithm::Ecdsa { curve: EcdsaCurve::NistP521 },
        ],
        rsa,
    ]
}

/// The host-key algorithms for a key of `key_type` (as a pin or known_hosts names it).
pub fn algorithms_for_key_type(key_type: &str, legacy: &[LegacyAlgorithm]) -> Vec<Algorithm> {
    let groups = host_key_groups(legacy);
    match key_type {
        "ssh-ed25519" => groups[0].clone(),
        "ssh-rsa" | "rsa-sha2-256" | "rsa-sha2-512" => groups[2].clone(),
        ecdsa if ecdsa.starts_with("ecdsa-sha2-") => {
            groups[1].iter().filter(|a| a.as_str() == ecdsa).cloned().collect()
        }
        _ => Vec::new(),
    }
}

/// The groups of [`host_key_groups`] the server offers at least one algorithm of.
pub fn groups_offered(offers: &Offers, legacy: &[LegacyAlgorithm]) -> Vec<Vec<Algorithm>> {
    host_key_groups(legacy)
        .into_iter()
        .filter(|group| group.iter().any(|a| offers.host_key.iter().any(|o| o == a.as_str())))
        .collect()
}

/// One class of algorithms without a common one.
pub struct Mismatch {
    /// "key exchange", "host key", "cipher" or "MAC".
    pub class: &'static str,
    pub server: Vec<String>,
    pub ours: Vec<String>,
    /// What would fix it: the legacy class that would, or what to ask the vendor.
    pub hint: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no common {} algorithm: the server offers {}; sis-extract offers {}. {}",
            self.class,
            list(&self.server),
            list(&self.ours),
            self.hint
        )
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "nothing".to_string() } else { names.join(",") }
}

/// Every class in which the server and `preferred` have nothing in common.
pub fn mismatches(offers: &Offers, preferred: &Preferred, legacy: &[LegacyAlgorithm]) -> Vec<Mismatch> {
    let ours_kex: Vec<&str> =
        preferred.kex.iter().map(|k| k.as_ref()).filter(|k| !is_pseudo_kex(k)).collect();
    let ours_keys: Vec<&str> = preferred.key.iter().map(|k| k.as_str()).collect();
    let ours_ciphers: Vec<&str> = preferred.cipher.iter().map(|c| c.as_ref()).collect();
    let ours_macs: Vec<&str> = preferred.mac.iter().map(|m| m.as_ref()).collect();
    let servers_kex: Vec<String> = offers.kex.iter().filter(|k| !is_pseudo_kex(k)).cloned().collect();
    let legacy_kex_names = legacy_kex();
    let legacy_cipher_names = legacy_ciphers();
    let kex_would_add: Vec<&str> = legacy_kex_names.iter().map(|k| k.as_ref()).collect();
    let cipher_would_add: Vec<&str> = legacy_cipher_names.iter().map(|c| c.as_ref()).collect();

    let mut found: Vec<Mismatch> = Vec::new();
    found.extend(mismatch(
        "key exchange",
        &servers_kex,
        &ours_kex,
        (LegacyAlgorithm::Sha1KeyExchange, &kex_would_add),
        legacy,
    ));
    found.extend(mismatch(
        "host key",
        &offers.host_key,
        &ours_keys,
        (LegacyAlgorithm::SshRsaHostKey, &["ssh-rsa"]),
        legacy,
    ));
    let ciphers = mismatch(
        "cipher",
        &offers.cipher_to_server,
        &ours_ciphers,
        (LegacyAlgorithm::CbcCiphers, &cipher_would_add),
        legacy,
    )
    .or_else(|| {
        mismatch(
            "cipher",
            &offers.cipher_to_client,
            &ours_ciphers,
            (LegacyAlgorithm::CbcCiphers, &cipher_would_add),
            legacy,
        )
    });
    found.extend(ciphers);
    // With an AEAD cipher no MAC is negotiated: a MAC list matters only when the cipher
    // that would be chosen is not AEAD.
    let needs_mac = |server_ciphers: &[String]| {
        ours_ciphers.iter().find(|c| server_ciphers.iter().any(|s| s == *c)).is_none_or(|c| !is_aead(c))
    };
    let mut macs = None;
    for (server_ciphers, server_macs) in
        [(&offers.cipher_to_server, &offers.mac_to_server), (&offers.cipher_to_client, &offers.mac_to_client)]
    {
        if macs.is_none() && needs_mac(server_ciphers) {
            macs = mismatch("MAC", server_macs, &ours_macs, (LegacyAlgorithm::CbcCiphers, &[]), legacy);
        }
    }
    found.extend(macs);
    found
}

/// The mismatch of one class, if the server offers nothing of `ours`. `would_add` is a
/// legacy class and what it adds: the hint names it when it would help.
fn mismatch(
    class: &'static str,
    server: &[String],
    ours: &[&str],
    (legacy_class, would_add): (LegacyAlgorithm, &[&str]),
    legacy: &[LegacyAlgorithm],
) -> Option<Mismatch> {
    if server.iter().any(|s| ours.contains(&s.as_str())) {
        return None;
    }
    let modern = ours.iter().take(3).copied().collect::<Vec<_>>().join(", ");
    let hint = if !legacy.contains(&legacy_class) && server.iter().any(|s| would_add.contains(&s.as_str())) {
        format!(
            "Ask the vendor to enable a modern one ({modern}); or, accepting the risk (docs/sftp.md), add legacy_algorithms = [\"{}\"] to [job.destination]",
            legacy_class.name()
        )
    } else {
        format!("Ask the vendor to enable one of {modern} on the server")
    };
    Some(Mismatch {
        class,
        server: server.to_vec(),
        ours: ours.iter().map(|s| s.to_string()).collect(),
        hint,
    })
}

/// The algorithms a handshake with this server would settle on (the first of ours the
/// server offers, per class), for `check`'s report.
pub fn would_negotiate(offers: &Offers, preferred: &Preferred) -> String {
    let first = |ours: Vec<&str>, server: &[String]| -> String {
        ours.into_iter().find(|o| server.iter().any(|s| s == o)).unwrap_or("none in common").to_string()
    };
    let cipher = first(preferred.cipher.iter().map(|c| c.as_ref()).collect(), &offers.cipher_to_server);
    let mac = if is_aead(&cipher) {
        "implicit (the cipher authenticates)".to_string()
    } else {
        first(preferred.mac.iter().map(|m| m.as_ref()).collect(), &offers.mac_to_server)
    };
    format!(
        "kex {}, host key {}, cipher {cipher}, MAC {mac}",
        first(preferred.kex.iter().map(|k| k.as_ref()).filter(|k| !is_pseudo_kex(k)).collect(), &offers.kex),
        first(preferred.key.iter().map(|k| k.as_str()).collect(), &offers.host_key),
    )
}

fn is_aead(cipher: &str) -> bool {
    cipher.contains("gcm") || cipher.contains("poly1305")
}

/// Names in a kex list that announce extensions rather than name an algorithm.
fn is_pseudo_kex(name: &str) -> bool {
    name.starts_with("ext-info-") || name.starts_with("kex-strict-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offers(kex: &str, keys: &str, ciphers: &str, macs: &str) -> Offers {
        let split = |s: &str| s.split(',').map(String::from).collect::<Vec<_>>();
        Offers {
            kex: split(kex),
            host_key: split(keys),
            cipher_to_server: split(ciphers),
            cipher_to_client: split(ciphers),
            mac_to_server: split(macs),
            mac_to_client: split(macs),
        }
    }

    #[test]
    fn every_class_without_a_common_algorithm_is_named_at_once() {
        let old = offers("diffie-hellman-group14-sha1", "ssh-rsa", "aes128-cbc", "hmac-md5");
        let found = mismatches(&old, &preferred(&[], None), &[]);
        let classes: Vec<_> = found.iter().map(|m| m.class).collect();
        assert_eq!(classes, ["key exchange", "host key", "cipher", "MAC"]);
        assert!(found[0].hint.contains("legacy_algorithms = [\"sha1-key-exchange\"]"), "{}", found[0]);
        assert!(found[1].hint.contains("\"ssh-rsa-host-key\""), "{}", found[1]);
        assert!(found[2].hint.contains("\"cbc-ciphers\""), "{}", found[2]);
        assert!(found[3].hint.contains("Ask the vendor"), "{}", found[3]);
        let all = LegacyAlgorithm::ALL;
        let classes: Vec<_> =
            mismatches(&old, &preferred(&all, None), &all).iter().map(|m| m.class).collect();
        assert_eq!(classes, ["MAC"]);
    }

    #[test]
    fn hmac_sha1_is_offered_by_default_and_weaker_ones_only_by_name() {
        let modern = preferred(&[], None);
        assert!(modern.mac.iter().any(|m| m.as_ref() == "hmac-sha1"));
        assert!(!modern.kex.iter().any(|k| k.as_ref().contains("sha1")));
        assert!(!modern.cipher.iter().any(|c| c.as_ref().contains("cbc")));
        assert!(!modern.key.iter().any(|k| k.as_str() == "ssh-rsa"));
        let ctr_sha1 = offers("curve25519-sha256", "ssh-ed25519", "aes128-ctr", "hmac-sha1");
        assert!(mismatches(&ctr_sha1, &modern, &[]).is_empty());
        assert_eq!(
            would_negotiate(&ctr_sha1, &modern),
            "kex curve25519-sha256, host key ssh-ed25519, cipher aes128-ctr, MAC hmac-sha1"
        );
        // With an AEAD cipher the MAC list does not matter.
        let aead = offers("curve25519-sha256", "ssh-ed25519", "chacha20-poly1305@openssh.com", "hmac-md5");
        assert!(mismatches(&aead, &modern, &[]).is_empty());
    }

    #[test]
    fn a_typed_pin_offers_only_its_key_type() {
        assert_eq!(algorithms_for_key_type("ssh-ed25519", &[]), [Algorithm::Ed25519]);
        assert_eq!(algorithms_for_key_type("ssh-rsa", &[]).len(), 2);
        assert_eq!(algorithms_for_key_type("ssh-rsa", &[LegacyAlgorithm::SshRsaHostKey]).len(), 3);
        assert_eq!(
            algorithms_for_key_type("ecdsa-sha2-nistp384", &[]),
            [Algorithm::Ecdsa { curve: EcdsaCurve::NistP384 }]
        );
    }
}
