//! Windows: which broad groups a file's ACL lets read or change it, for the same warnings
//! the mode bits give on Unix (src/config/secrets.rs). Only the three groups that mean
//! "other users of this server" are looked for: Everyone, BUILTIN\Users and Authenticated
//! Users. Allow entries that apply to the file itself are counted; deny entries are not
//! (a deny entry in front of them would make the warning too cautious, never silent).

use std::path::Path;

use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Authorization::{GetNamedSecurityInfoW, SE_FILE_OBJECT};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACL, CreateWellKnownSid, DACL_SECURITY_INFORMATION, EqualSid, GetAce,
    INHERIT_ONLY_ACE, PSECURITY_DESCRIPTOR, SECURITY_MAX_SID_SIZE, WinAuthenticatedUserSid,
    WinBuiltinUsersSid, WinWorldSid,
};

const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const GENERIC_ALL: u32 = 0x1000_0000;
const GENERIC_READ: u32 = 0x8000_0000;
const GENERIC_WRITE: u32 = 0x4000_0000;
const FILE_READ_DATA: u32 = 0x1;
/// Write or append data, or rewrite the ACL or owner (and so grant oneself anything).
const WRITING: u32 = 0x2 | 0x4 | 0x4_0000 | 0x8_0000 | GENERIC_WRITE | GENERIC_ALL;
const READING: u32 = FILE_READ_DATA | GENERIC_READ | GENERIC_ALL;

/// What the broad groups may do to a file.
pub(super) struct Exposure {
    /// The groups that may read it, e.g. `BUILTIN\Users`.
    pub(super) readers: Vec<&'static str>,
    /// The groups that may change it.
    pub(super) writers: Vec<&'static str>,
}

/// The broad groups' access to `path`; `None` when its ACL cannot be read (the file is
/// missing or this account may not read its ACL: nothing to warn about then).
pub(super) fn exposure(path: &Path) -> Option<Exposure> {
    use std::os::windows::ffi::OsStrExt;
    let name: Vec<u16> = path.as_os_str().encode_wide().chain(std::iter::once(0)).collect();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated path and out pointers; the descriptor is freed below and
    // `dacl` points into it.
    let status = unsafe {
        GetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut dacl,
            std::ptr::null_mut(),
            &mut descriptor,
        )
    };
    if status != ERROR_SUCCESS {
        return None;
    }
    let groups = [
        (WinWorldSid, "Everyone"),
        (WinBuiltinUsersSid, "BUILTIN\\Users"),
        (WinAuthenticatedUserSid, "Authenticated Users"),
    ];
    let mut found = Exposure { readers: Vec::new(), writers: Vec::new() };
    if dacl.is_null() {
        // No DACL at all: everyone may do anything.
        found.readers.push("Everyone");
        found.writers.push("Everyone");
    } else {
        // SAFETY: `dacl` is a valid ACL inside `descriptor`; GetAce gives pointers into it,
        // and an allow entry is an ACCESS_ALLOWED_ACE whose SidStart begins its SID.
        unsafe {
            for index in 0..u32::from((*dacl).AceCount) {
                let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
                if GetAce(dacl, index, &mut ace) == 0 {
                    continue;
                }
                let ace = &*(ace as *const ACCESS_ALLOWED_ACE);
                if ace.Header.AceType != ACCESS_ALLOWED_ACE_TYPE
                    || u32::from(ace.Header.AceFlags) & INHERIT_ONLY_ACE != 0
                {
                    continue;
                }
                let sid = (&ace.SidStart as *const u32).cast_mut().cast();
                for (kind, group) in groups {
                    let mut well_known = [0u8; SECURITY_MAX_SID_SIZE as usize];
                    let mut size = SECURITY_MAX_SID_SIZE;
                    if CreateWellKnownSid(
                        kind,
                        std::ptr::null_mut(),
                        well_known.as_mut_ptr().cast(),
                        &mut size,
                    ) == 0
                        || EqualSid(sid, well_known.as_mut_ptr().cast()) == 0
                    {
                        continue;
                    }
                    if ace.Mask & READING != 0 && !found.readers.contains(&group) {
                        found.readers.push(group);
                    }
                    if ace.Mask & WRITING != 0 && !found.writers.contains(&group) {
                        found.writers.push(group);
                    }
                }
            }
        }
    }
    // SAFETY: allocated by GetNamedSecurityInfoW with LocalAlloc.
    unsafe { LocalFree(descriptor) };
    Some(found)
}
