//! A second wall for SQLite sources, below the query vetting: an authorizer installed in
//! every SQLite connection this process opens. It refuses extension loading
//! (`load_extension()` would run a shared library inside sis-extract), `ATTACH`, file
//! functions and every kind of write, whatever SQL reaches the driver.
//!
//! The SQLite ODBC driver turns extension loading on and offers no setting to turn it off,
//! and ODBC gives no access to the `sqlite3*` handle. But the driver links the system's
//! `libsqlite3.so.0`, which is one library per process: sis-extract loads it first and
//! registers an auto-extension (`sqlite3_auto_extension`), which SQLite calls for every
//! connection it opens, before the driver runs anything on it. There the authorizer is
//! set (the driver never sets one of its own). Where this cannot work (a driver with SQLite
//! built in, as on Windows), [`install`] says so and the query vetting is the only wall.

/// Installs the guard for every SQLite connection opened from now on. Returns whether it
/// is in place. Safe to call more than once.
pub fn install() -> bool {
    imp::install()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::ffi::{CStr, c_char, c_int, c_void};
    use std::sync::OnceLock;

    type SetAuthorizer = unsafe extern "C" fn(
        *mut c_void,
        Option<
            unsafe extern "C" fn(
                *mut c_void,
                c_int,
                *const c_char,
                *const c_char,
                *const c_char,
                *const c_char,
            ) -> c_int,
        >,
        *mut c_void,
    ) -> c_int;
    type AutoExtension = unsafe extern "C" fn(Option<unsafe extern "C" fn()>) -> c_int;
    type DbConfig = unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int;

    struct Api {
        set_authorizer: SetAuthorizer,
        db_config: DbConfig,
    }

    /// Whether the guard is in place; decided once per process.
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    /// What [`on_open`] calls; set before the auto-extension is registered.
    static API: OnceLock<Api> = OnceLock::new();

    const SQLITE_OK: c_int = 0;
    const SQLITE_DENY: c_int = 1;
    const SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION: c_int = 1005;
    // Authorizer action codes (sqlite3.h).
    const SQLITE_PRAGMA: c_int = 19;
    const SQLITE_READ: c_int = 20;
    const SQLITE_SELECT: c_int = 21;
    const SQLITE_TRANSACTION: c_int = 22;
    const SQLITE_UPDATE: c_int = 23;
    const SQLITE_FUNCTION: c_int = 31;
    const SQLITE_SAVEPOINT: c_int = 32;
    const SQLITE_RECURSIVE: c_int = 33;

    /// Functions refused even in a read-only query: native code and file access.
    const DENIED_FUNCTIONS: &[&str] = &["load_extension", "writefile", "readfile", "edit", "fts3_tokenizer"];

    pub fn install() -> bool {
        *INSTALLED.get_or_init(|| unsafe { load() })
    }

    /// Loads libsqlite3 (the driver will share it) and registers the auto-extension.
    unsafe fn load() -> bool {
        // Safety: dlopen/dlsym with NUL-terminated names; the library is never closed, so
        // the function pointers stay valid for the life of the process.
        unsafe {
            let handle = libc::dlopen(c"libsqlite3.so.0".as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL);
            if handle.is_null() {
                tracing::warn!(
                    "libsqlite3.so.0 could not be loaded, so SQLite connections are not guarded against extension loading; the query vetting still refuses load_extension()"
                );
                return false;
            }
            let symbol = |name: &CStr| {
                let pointer = libc::dlsym(handle, name.as_ptr());
                (!pointer.is_null()).then_some(pointer)
            };
            let (Some(auto_extension), Some(set_authorizer), Some(db_config)) = (
                symbol(c"sqlite3_auto_extension"),
                symbol(c"sqlite3_set_authorizer"),
                symbol(c"sqlite3_db_config"),
            ) else {
                tracing::warn!("libsqlite3.so.0 lacks sqlite3_auto_extension or sqlite3_set_authorizer");
                return false;
            };
            let _ = API.set(Api {
                set_authorizer: std::mem::transmute::<*mut c_void, SetAuthorizer>(set_authorizer),
                db_config: std::mem::transmute::<*mut c_void, DbConfig>(db_config),
            });
            let auto_extension = std::mem::transmute::<*mut c_void, AutoExtension>(auto_extension);
            // SQLite calls an auto-extension as xInit(db, &errmsg, api), through a
            // `void (*)(void)` pointer; this cast is what sqlite3ext.h users do too.
            let entry = std::mem::transmute::<
                unsafe extern "C" fn(*mut c_void, *mut *mut c_char, *const c_void) -> c_int,
                unsafe extern "C" fn(),
            >(on_open);
            if auto_extension(Some(entry)) != SQLITE_OK {
                tracing::warn!("sqlite3_auto_extension failed; SQLite connections are not guarded");
                return false;
            }
            true
        }
    }

    /// Called by SQLite for every new connection, before the driver uses it.
    unsafe extern "C" fn on_open(db: *mut c_void, _error: *mut *mut c_char, _api: *const c_void) -> c_int {
        if let Some(api) = API.get() {
            // Safety: `db` is the connection SQLite is opening; both calls are documented
            // to be made on it at any time.
            unsafe {
                (api.db_config)(
                    db,
                    SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION,
                    0 as c_int,
                    std::ptr::null_mut::<c_int>(),
                );
                (api.set_authorizer)(db, Some(authorize), std::ptr::null_mut());
            }
        }
        SQLITE_OK
    }

    /// Allows reading, functions other than the denied ones, and the pragmas and
    /// transactions the driver itself uses; denies everything else (writes, DDL,
    /// `ATTACH`, `DETACH`, `VACUUM`…). `PRAGMA query_only` may only be switched on.
    unsafe extern "C" fn authorize(
        _user: *mut c_void,
        action: c_int,
        first: *const c_char,
        second: *const c_char,
        _database: *const c_char,
        _trigger: *const c_char,
    ) -> c_int {
        // Safety: SQLite passes NUL-terminated strings or NULL.
        let text = |p: *const c_char| (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy());
        match action {
            SQLITE_READ | SQLITE_SELECT | SQLITE_RECURSIVE | SQLITE_TRANSACTION | SQLITE_SAVEPOINT => {
                SQLITE_OK
            }
            // SQLite reports reading its own schema (for a table-valued pragma, say) as an
            // UPDATE of sqlite_master's columns; a real one needs writable_schema, denied.
            SQLITE_UPDATE
                if matches!(
                    text(first).unwrap_or_default().to_ascii_lowercase().as_str(),
                    "sqlite_master" | "sqlite_schema" | "sqlite_temp_master" | "sqlite_temp_schema"
                ) =>
            {
                SQLITE_OK
            }
            SQLITE_FUNCTION => {
                let name = text(second).unwrap_or_default().to_ascii_lowercase();
                if DENIED_FUNCTIONS.contains(&name.as_str()) { SQLITE_DENY } else { SQLITE_OK }
            }
            SQLITE_PRAGMA => {
                let pragma = text(first).unwrap_or_default().to_ascii_lowercase();
                let value = text(second).map(|v| v.to_ascii_lowercase());
                match (pragma.as_str(), value.as_deref()) {
                    ("writable_schema" | "trusted_schema", Some(_)) => SQLITE_DENY,
                    ("query_only", Some("0" | "off" | "false" | "no")) => SQLITE_DENY,
                    _ => SQLITE_OK,
                }
            }
            _ => SQLITE_DENY,
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn install() -> bool {
        false
    }
}
