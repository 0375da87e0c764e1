//! Secrets kept where each system's admins keep them, named in the config as
//! `{ credential = "NAME" }`.
//!
//! - **Windows**: a generic credential named NAME in the Windows Credential Manager of the
//!   account that runs sis-extract (CredReadW), written by `sis-extract secret set NAME`
//!   (or `cmdkey /generic:NAME /user:sis-extract /pass`, which stores the same thing: the
//!   password as UTF-16). The Credential Manager is per account: it must be set by the
//!   account that reads it (the service's or the task's), not the admin's own.
//! - **Linux**: the file `$CREDENTIALS_DIRECTORY/NAME`, which systemd fills from the unit's
//!   `LoadCredential=NAME:/path` (or `LoadCredentialEncrypted=` with `systemd-creds
//!   encrypt`). Only that unit's processes can read it; nothing is kept in the environment.
//!
//! Every message here names the credential, never its value.

/// Why `name` cannot name a credential, if it cannot: it becomes a file name on Linux
/// and a target name on Windows.
pub fn invalid_name(name: &str) -> Option<String> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':');
    if name.is_empty() || name.len() > 200 || name.starts_with('.') || !name.chars().all(ok_char) {
        Some(format!(
            "{name:?} is not a credential name; use up to 200 letters, digits and - _ . @ : \
             (not starting with '.'), e.g. \"sis-extract-db\""
        ))
    } else {
        None
    }
}

/// Where the credential NAME is looked for, for messages and `config`.
pub fn describe(name: &str) -> String {
    if cfg!(windows) {
        format!("Windows Credential Manager, generic credential {name}")
    } else {
        format!("systemd credential {name}")
    }
}

/// The secret stored as NAME, or a message saying what is missing and how to set it.
pub fn read(name: &str) -> Result<String, String> {
    platform::read(name)
}

/// On a system without a credential store sis-extract writes to (Linux), what to do
/// instead of `secret set` and `secret delete`.
pub fn no_store_here(name: &str) -> Option<String> {
    (!cfg!(windows)).then(|| {
        format!(
            "`secret set` and `secret delete` manage the Windows Credential Manager; on Linux a \
             {{ credential = \"{name}\" }} secret is passed by systemd: write it to a file only root reads \
             (or encrypt it: `systemd-creds encrypt --name={name} - /etc/credstore.encrypted/{name}`) and add \
             `LoadCredential={name}:/etc/sis-extract/credentials/{name}` (or `LoadCredentialEncrypted={name}`) \
             to the unit; see docs/operations.md, \"Secrets from systemd credentials\""
        )
    })
}

/// `secret set NAME` (Windows): the secret from [`prompt`], stored as NAME.
pub fn set(name: &str) -> anyhow::Result<()> {
    let value = prompt(&format!("secret for {name}"))?;
    platform::write(name, &value)
}

/// `secret delete NAME`: removes NAME; false when there was none (Windows only).
pub fn delete(name: &str) -> anyhow::Result<bool> {
    platform::delete(name)
}

/// A secret typed at a prompt on the console, without echo (twice, to catch a typo);
/// from a pipe or a redirected file, its first line (for scripts: `Get-Content file |
/// sis-extract secret set NAME`). Also `service install --account`'s password.
pub fn prompt(label: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let value = if std::io::stdin().is_terminal() {
        let first = platform::read_without_echo(&format!("{label}: "))?;
        let again = platform::read_without_echo("the same again: ")?;
        if first != again {
            anyhow::bail!("the two entries differ; nothing was stored");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line
    };
    let value = value.strip_prefix('\u{feff}').unwrap_or(&value).trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        anyhow::bail!("the secret is empty; nothing was stored");
    }
    Ok(value)
}

#[cfg(windows)]
mod platform {
    use std::io;

    use anyhow::{Context, bail};
    use windows_sys::Win32::Foundation::ERROR_NOT_FOUND;
    use windows_sys::Win32::Security::Credentials::{
        CRED_MAX_CREDENTIAL_BLOB_SIZE, CRED_PERSIST_LOCAL_MACHINE, CRED_TYPE_GENERIC, CREDENTIALW,
        CredDeleteW, CredFree, CredReadW, CredWriteW,
    };

    fn wide(text: &str) -> Vec<u16> {
        text.encode_utf16().chain(std::iter::once(0)).collect()
    }

    fn account() -> String {
        match (std::env::var("USERDOMAIN"), std::env::var("USERNAME")) {
            (Ok(domain), Ok(user)) => format!("{domain}\\{user}"),
            (_, Ok(user)) => user,
            _ => "the account that runs sis-extract".to_string(),
        }
    }

    pub fn read(name: &str) -> Result<String, String> {
        let target = wide(name);
        let mut credential: *mut CREDENTIALW = std::ptr::null_mut();
        // SAFETY: a NUL-terminated target name and an out pointer; freed with CredFree below.
        if unsafe { CredReadW(target.as_ptr(), CRED_TYPE_GENERIC, 0, &mut credential) } == 0 {
            let error = io::Error::last_os_error();
            return Err(if error.raw_os_error() == Some(ERROR_NOT_FOUND as i32) {
                format!(
                    "the Windows Credential Manager of {} holds no generic credential {name}; \
                     store it with `sis-extract secret set {name}` run as that account \
                     (a service's or task's account, not yours: `runas /user:ACCOUNT`)",
                    account()
                )
            } else {
                format!("cannot read credential {name} from the Windows Credential Manager: {error}")
            });
        }
        // SAFETY: CredReadW succeeded, so `credential` points to a CREDENTIALW whose blob
        // holds CredentialBlobSize bytes; it is copied before CredFree.
        let blob = unsafe {
            let c = &*credential;
            let bytes = if c.CredentialBlob.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(c.CredentialBlob, c.CredentialBlobSize as usize).to_vec()
            };
            CredFree(credential.cast());
            bytes
        };
        if blob.len() % 2 != 0 {
            return Err(format!(
                "credential {name} does not hold UTF-16 text; store it again with `sis-extract secret set {name}`"
            ));
        }
        let units: Vec<u16> = blob.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        String::from_utf16(&units).map_err(|_| {
            format!(
                "credential {name} is not valid text; store it again with `sis-extract secret set {name}`"
            )
        })
    }

    pub fn write(name: &str, value: &str) -> anyhow::Result<()> {
        // UTF-16, as cmdkey and the Credential Manager's own dialog store a password.
        let mut blob: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
        if blob.len() > CRED_MAX_CREDENTIAL_BLOB_SIZE as usize {
            bail!("the secret is longer than the Credential Manager holds (1280 characters)");
        }
        let mut target = wide(name);
        let mut user = wide("sis-extract");
        let mut comment = wide("sis-extract secret (sis-extract secret set)");
        let credential = CREDENTIALW {
            Type: CRED_TYPE_GENERIC,
            TargetName: target.as_mut_ptr(),
            Comment: comment.as_mut_ptr(),
            CredentialBlobSize: blob.len() as u32,
            CredentialBlob: blob.as_mut_ptr(),
            // Kept across logons and reboots, for this account on this machine only.
            Persist: CRED_PERSIST_LOCAL_MACHINE,
            UserName: user.as_mut_ptr(),
            ..Default::default()
        };
        // SAFETY: every pointer in `credential` points into a buffer alive for the call.
        let ok = unsafe { CredWriteW(&credential, 0) } != 0;
        blob.fill(0);
        if !ok {
            return Err(io::Error::last_os_error())
                .with_context(|| format!("storing credential {name} in the Windows Credential Manager"));
        }
        Ok(())
    }

    pub fn delete(name: &str) -> anyhow::Result<bool> {
        let target = wide(name);
        // SAFETY: a NUL-terminated target name.
        if unsafe { CredDeleteW(target.as_ptr(), CRED_TYPE_GENERIC, 0) } != 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(ERROR_NOT_FOUND as i32) {
            return Ok(false);
        }
        Err(error).with_context(|| format!("deleting credential {name} from the Windows Credential Manager"))
    }

    /// One line from the console with echo off, restored afterwards.
    pub fn read_without_echo(prompt: &str) -> anyhow::Result<String> {
        use std::io::{BufRead, Write};
        use windows_sys::Win32::System::Console::{
            ENABLE_ECHO_INPUT, GetConsoleMode, GetStdHandle, STD_INPUT_HANDLE, SetConsoleMode,
        };
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        // SAFETY: console mode calls on this process's own standard input handle.
        let (handle, mode) = unsafe {
            let handle = GetStdHandle(STD_INPUT_HANDLE);
            let mut mode = 0;
            if GetConsoleMode(handle, &mut mode) == 0
                || SetConsoleMode(handle, mode & !ENABLE_ECHO_INPUT) == 0
            {
                bail!("cannot turn off the console's echo: {}", io::Error::last_os_error());
            }
            (handle, mode)
        };
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        // SAFETY: restores the mode read above.
        unsafe { SetConsoleMode(handle, mode) };
        eprintln!();
        read?;
        Ok(line)
    }
}

#[cfg(not(windows))]
mod platform {
    use std::path::PathBuf;

    /// A credential file holds one password; more than this is the wrong file.
    const MAX_BYTES: u64 = 64 * 1024;

    pub fn read(name: &str) -> Result<String, String> {
        use std::io::Read;
        let how = format!(
            "add `LoadCredential={name}:/etc/sis-extract/credentials/{name}` (a file only root reads) or \
             `LoadCredentialEncrypted={name}:…` (made by `systemd-creds encrypt --name={name} …`) to the unit \
             that runs sis-extract"
        );
        let Some(dir) = std::env::var_os("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) else {
            return Err(format!(
                "credential {name}: $CREDENTIALS_DIRECTORY is not set, so sis-extract is not running in a systemd \
                 unit that passes credentials; {how} (examples/linux/sis-extract.service shows it), or use \
                 {{ file = \"…\" }} outside systemd"
            ));
        };
        let path = PathBuf::from(dir).join(name);
        let mut bytes = Vec::new();
        match std::fs::File::open(&path) {
            Ok(file) => {
                file.take(MAX_BYTES + 1)
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read credential {name} ({}): {e}", path.display()))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "credential {name} is not in $CREDENTIALS_DIRECTORY ({}): the unit does not pass it; {how}",
                    path.parent().unwrap_or(&path).display()
                ));
            }
            Err(e) => return Err(format!("cannot read credential {name} ({}): {e}", path.display())),
        }
        if bytes.len() as u64 > MAX_BYTES {
            return Err(format!("credential {name} is larger than 64 KiB; it should hold only the secret"));
        }
        let text = String::from_utf8(bytes).map_err(|_| format!("credential {name} is not UTF-8 text"))?;
        Ok(text.strip_prefix('\u{feff}').unwrap_or(&text).trim_end_matches(['\r', '\n']).to_string())
    }

    pub fn write(_name: &str, _value: &str) -> anyhow::Result<()> {
        anyhow::bail!("no credential store on this system (see no_store_here)")
    }

    pub fn delete(_name: &str) -> anyhow::Result<bool> {
        anyhow::bail!("no credential store on this system (see no_store_here)")
    }

    pub fn read_without_echo(_prompt: &str) -> anyhow::Result<String> {
        anyhow::bail!("no credential store on this system (see no_store_here)")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_file_and_target_safe() {
        assert!(super::invalid_name("sis-extract-db").is_none());
        assert!(super::invalid_name("vendor.sftp@district").is_none());
        for bad in ["", "../x", "a/b", "a\\b", ".hidden", "with space"] {
            assert!(super::invalid_name(bad).is_some(), "{bad}");
        }
    }
}
