#!/usr/bin/env python3
"""Writes the seeds of the server-bytes fuzz targets (run from anywhere; stdlib only):

  seeds/sftp_server_bytes/  whole SFTP server transcripts for targets.rs's request order
  seeds/known_hosts/        known_hosts files: plain, [host]:port, hashed, marked, broken

A transcript is one shape byte (see targets.rs) then the server's packets. The client's
request ids go 1, 2, 3... in targets.rs's order; these transcripts answer them in step
(or, on purpose, not), so that the fuzzer starts deep in the session, not at VERSION.
"""
import base64, hashlib, hmac, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))

VERSION, STATUS, HANDLE, NAME, ATTRS = 2, 101, 102, 104, 105
OK, EOF, NO_SUCH_FILE, FAILURE, NO_SPACE = 0, 1, 2, 4, 14


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def string(b):
    return u32(len(b)) + b


def packet(kind, body):
    return u32(1 + len(body)) + bytes([kind]) + body


def status(i, code=OK, message=b"", lang=b"en"):
    return packet(STATUS, u32(i) + u32(code) + string(message) + string(lang))


def attrs(size=None, perms=None, extended=()):
    flags, body = 0, b""
    if size is not None:
        flags |= 1
        body += u64(size)
    if perms is not None:
        flags |= 0x4
        body += u32(perms)
    if extended:
        flags |= 0x80000000
        body += u32(len(extended)) + b"".join(string(k) + string(v) for k, v in extended)
    return u32(flags) + body


def version(extensions=((b"posix-rename@openssh.com", b"1"), (b"fsync@openssh.com", b"1"))):
    return packet(VERSION, u32(3) + b"".join(string(n) + string(d) for n, d in extensions))


def shape(in_flight, chunk):
    return bytes([(in_flight - 1) | ({16: 0, 32: 1, 64: 2, 128: 3}[chunk] << 3)])


def transcript(in_flight=1, chunk=16, handle=b"h1", write_order=None, write_codes=None, ext=None):
    """The whole happy session; write_order/write_codes change how the writes are acked."""
    out = shape(in_flight, chunk) + (version() if ext is None else version(ext))
    i = 1
    out += packet(ATTRS, u32(i) + attrs(perms=0o40755)); i += 1          # stat /in
    out += packet(HANDLE, u32(i) + string(handle)); i += 1               # open
    writes = list(range(i, i + (200 + chunk - 1) // chunk)); i += len(writes)
    # The client keeps in_flight writes out; answering in windows keeps it in step.
    for start in range(0, len(writes), in_flight):
        window = writes[start:start + in_flight]
        for w in (write_order(window) if write_order else window):
            code = (write_codes or {}).get(w - writes[0], OK)
            out += status(w, code, b"No space left on device" if code else b"")
            if code:
                return out + b"".join(status(x) for x in writes if x != w)
    out += status(i); i += 1                                             # fsync
    out += status(i); i += 1                                             # close
    out += packet(ATTRS, u32(i) + attrs(size=200, perms=0o100600, extended=[(b"k", b"v")])); i += 1
    out += packet(HANDLE, u32(i) + string(b"d")); i += 1                 # opendir
    names = u32(3) + b"".join(string(n) + string(n) + attrs() for n in (b".", b"..", b"../x"))
    out += packet(NAME, u32(i) + names); i += 1                          # readdir
    out += status(i, EOF); i += 1                                        # readdir: end
    out += status(i); i += 1                                             # close dir
    out += status(i); i += 1                                             # posix-rename
    out += status(i, NO_SUCH_FILE, b"No such file"); i += 1             # remove
    out += status(i); i += 1                                             # rename
    out += status(i); i += 1                                             # remove
    return out


def seeds_sftp():
    d = os.path.join(HERE, "seeds", "sftp_server_bytes")
    os.makedirs(d, exist_ok=True)
    seeds = {
        "happy-1x16": transcript(),
        "happy-8x128-reversed": transcript(8, 128, write_order=lambda w: list(reversed(w))),
        "happy-4x64-binary-handle": transcript(4, 64, handle=bytes([0xFF, 0, 0xFE, 0x80])),
        "no-extensions": transcript(2, 32, ext=()),
        "write-no-space": transcript(4, 32, write_codes={2: NO_SPACE}),
        "version-only": shape(1, 16) + version(),
        "absurd-length": shape(1, 16) + version() + u32(0xFFFFFFF0) + b"\x69",
        "wrong-id": shape(1, 16) + version() + packet(ATTRS, u32(77) + attrs(perms=0o40755)),
        "status-without-message": shape(1, 16) + version() + packet(STATUS, u32(1) + u32(NO_SUCH_FILE)),
        "truncated-version": shape(1, 16) + packet(VERSION, u32(3) + u32(100) + b"posix"),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def seeds_known_hosts():
    d = os.path.join(HERE, "seeds", "known_hosts")
    os.makedirs(d, exist_ok=True)
    ed = "AAAAC3NzaC1lZDI1NTE5AAAAIJBrVcFVQGIGOK7FvbtZKRkyK5V9LJMLBm5+8Qnp/zWQ"
    salt = bytes(range(20))
    hashed = hmac.new(salt, b"sftp.example.org", hashlib.sha1).digest()
    hashed_host = "|1|%s|%s" % (base64.b64encode(salt).decode(), base64.b64encode(hashed).decode())
    seeds = {
        "plain": "# vendor\nsftp.example.org ssh-ed25519 %s\nother.example.org ssh-ed25519 %s\n" % (ed, ed),
        "port-and-list": "[sftp.example.org]:2222,10.0.0.1 ssh-ed25519 %s comment\n" % ed,
        "hashed": "%s ssh-ed25519 %s\n" % (hashed_host, ed),
        "marker-and-broken": "@cert-authority *.example.org ssh-ed25519 %s\nsftp.example.org ssh-ed25519 AAAA!!\n" % ed,
        "negated-wildcard": "!sftp.example.org,*.example.org ssh-ed25519 %s\n" % ed,
    }
    for name, text in seeds.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    seeds_sftp()
    seeds_known_hosts()
