//! Whether a failed delivery attempt is worth another try: the vocabulary of the SFTP
//! connection (ssh.rs) and the delivery (sftp.rs), so that neither depends on the other.

/// Whether trying again could help.
pub enum Failure {
    /// A wrong credential, a changed host key, a missing folder, no common algorithm:
    /// another attempt would fail the same way.
    Permanent(anyhow::Error),
    /// A network or server problem that may pass.
    Transient(anyhow::Error),
}

impl Failure {
    pub fn map(self, f: impl FnOnce(anyhow::Error) -> anyhow::Error) -> Failure {
        match self {
            Failure::Permanent(e) => Failure::Permanent(f(e)),
            Failure::Transient(e) => Failure::Transient(f(e)),
        }
    }

    pub fn error(&self) -> &anyhow::Error {
        match self {
            Failure::Permanent(e) | Failure::Transient(e) => e,
        }
    }
}
