#!/usr/bin/python3
"""A hostile or broken SFTP server, for tests/sftp_hostile_server.rs.

    /usr/bin/python3 hostile_sftp.py --mode MODE [--at REQUEST] --dir DIR [--password PW]

Listens on a free port of 127.0.0.1 and prints `PORT n` and `FINGERPRINT SHA256:...`
(its ECDSA host key, made afresh in DIR) on stdout, then serves until killed, or for
--lifetime seconds at most. SSH is paramiko's (Debian's python3-paramiko, so
/usr/bin/python3, not a pyenv one), but the `sftp` subsystem is not paramiko's SFTPServer:
it reads the raw channel and answers SFTP v3 packets itself, honestly (files go to the real
folder DIR/root, paths resolved inside it) except for the first request of kind REQUEST
in each SFTP session, which gets MODE's treatment:

  absurd-length   a reply whose length field says 0xFFFFFFF0 bytes, then a few bytes
  wrong-id        the right reply, with an id the client never sent (id + 1000)
  no-reply        no reply at all (the server keeps reading)
  slow            the right reply, one byte per second
  bad-version     (INIT only) a VERSION whose extension list lies about its lengths
  dotdot-names    no trap of its own: every request is honest, but READDIR lists `..`,
                  `../../etc/passwd` and `a/b`, and REALPATH answers `/../../etc`

and, without SSH at all (raw TCP, --at ignored):

  endless-banner  lines that are not an SSH identification, forever, one every 10 ms
  endless-line    one line that never ends (no newline), 1 KiB every 10 ms
  slow-banner     an honest-looking identification line, one byte per second

Every request and what was done with it goes to DIR/requests.log, one JSON object a line,
for the test to inspect (which paths the client named, what was written where).
"""
import argparse
import base64
import hashlib
import json
import logging
import os
import socket
import struct
import sys
import threading
import time

import paramiko

INIT, VERSION, OPEN, CLOSE, READ, WRITE, LSTAT, FSTAT = 1, 2, 3, 4, 5, 6, 7, 8
OPENDIR, READDIR, REMOVE, MKDIR, REALPATH, STAT, RENAME = 11, 12, 13, 14, 16, 17, 18
EXTENDED = 200
STATUS, HANDLE, DATA, NAME, ATTRS = 101, 102, 103, 104, 105
OK, EOF, NO_SUCH_FILE, PERMISSION_DENIED, FAILURE, OP_UNSUPPORTED = 0, 1, 2, 3, 4, 8

KIND_NAMES = {
    INIT: "init", OPEN: "open", CLOSE: "close", WRITE: "write", OPENDIR: "opendir",
    READDIR: "readdir", REMOVE: "remove", REALPATH: "realpath", STAT: "stat", LSTAT: "lstat",
    FSTAT: "fstat", RENAME: "rename", EXTENDED: "extended",
}

LOCK = threading.Lock()


def u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack(">Q", v)


def string(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


def packet(kind, body):
    return u32(1 + len(body)) + bytes([kind]) + body


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def u32(self):
        (v,) = struct.unpack(">I", self.data[self.at:self.at + 4])
        self.at += 4
        return v

    def u64(self):
        (v,) = struct.unpack(">Q", self.data[self.at:self.at + 8])
        self.at += 8
        return v

    def string(self):
        n = self.u32()
        s = self.data[self.at:self.at + n]
        self.at += n
        return s


class Log:
    def __init__(self, path):
        self.path = path

    def write(self, **record):
        with LOCK, open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


class Session:
    """One SFTP session on one channel."""

    counter = 0

    def __init__(self, channel, args, log):
        self.channel, self.args, self.log = channel, args, log
        self.root = os.path.realpath(os.path.join(args.dir, "root"))
        self.handles = {}
        self.next_handle = 0
        self.trapped = False
        with LOCK:
            Session.counter += 1
            self.number = Session.counter

    # -- the channel ------------------------------------------------------------------
    def read_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.channel.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def send(self, data):
        self.channel.sendall(data)

    def send_slowly(self, data):
        for i in range(len(data)):
            if self.channel.closed:
                return
            self.send(data[i:i + 1])
            time.sleep(1)

    # -- paths, inside the served folder ------------------------------------------------
    def local(self, remote):
        """The real path of a remote path, or None if it would leave the served folder."""
        remote = remote.decode("utf-8", "replace")
        path = os.path.normpath(os.path.join(self.root, remote.lstrip("/")))
        if path != self.root and not path.startswith(self.root + os.sep):
            return None
        return path

    # -- the answers ----------------------------------------------------------------------
    def status(self, i, code, message=""):
        return packet(STATUS, u32(i) + u32(code) + string(message) + string("en"))

    def attrs(self, st):
        import stat as stat_module
        flags = 0x1 | 0x4
        perms = st.st_mode if not stat_module.S_ISDIR(st.st_mode) else 0o40755
        return u32(flags) + u64(st.st_size) + u32(perms)

    def answer(self, kind, i, r):
        """The honest answer to a request, and a note for the log."""
        if kind in (STAT, LSTAT):
            path = self.local(r.string())
            if path is None:
                return self.status(i, PERMISSION_DENIED, "outside the served folder"), "escape"
            try:
                return packet(ATTRS, u32(i) + self.attrs(os.stat(path))), None
            except FileNotFoundError:
                return self.status(i, NO_SUCH_FILE, "No such file"), None
        if kind == OPEN:
            path = self.local(r.string())
            if path is None:
                return self.status(i, PERMISSION_DENIED, "outside the served folder"), "escape"
            try:
                f = open(path, "wb")
            except OSError as e:
                return self.status(i, FAILURE, str(e)), None
            self.next_handle += 1
            h = b"h%d" % self.next_handle
            self.handles[h] = ("file", f)
            return packet(HANDLE, u32(i) + string(h)), None
        if kind == OPENDIR:
            path = self.local(r.string())
            if path is None or not os.path.isdir(path):
                return self.status(i, NO_SUCH_FILE, "No such folder"), None
            self.next_handle += 1
            h = b"d%d" % self.next_handle
            self.handles[h] = ("dir", [False])
            return packet(HANDLE, u32(i) + string(h)), None
        if kind == READDIR:
            h = r.string()
            entry = self.handles.get(h)
            if entry is None or entry[0] != "dir":
                return self.status(i, FAILURE, "bad handle"), None
            if entry[1][0]:
                return self.status(i, EOF, "End of file"), None
            entry[1][0] = True
            names = [b".", b".."]
            if self.args.mode == "dotdot-names":
                names += [b"../../etc/passwd", b"a/b"]
            body = u32(len(names)) + b"".join(
                string(n) + string(b"-rw-r--r-- 1 u u 0 Jan 1 00:00 " + n) + u32(0) for n in names
            )
            return packet(NAME, u32(i) + body), None
        if kind == REALPATH:
            p = r.string()
            answer = b"/../../etc" if self.args.mode == "dotdot-names" else (b"/" + p.lstrip(b"/"))
            return packet(NAME, u32(i) + u32(1) + string(answer) + string(answer) + u32(0)), None
        if kind == WRITE:
            h = r.string()
            offset = r.u64()
            data = r.string()
            entry = self.handles.get(h)
            if entry is None or entry[0] != "file":
                return self.status(i, FAILURE, "bad handle"), None
            entry[1].seek(offset)
            entry[1].write(data)
            return self.status(i, OK), None
        if kind == CLOSE:
            entry = self.handles.pop(r.string(), None)
            if entry is None:
                return self.status(i, FAILURE, "bad handle"), None
            if entry[0] == "file":
                entry[1].close()
            return self.status(i, OK), None
        if kind == REMOVE:
            path = self.local(r.string())
            if path is None:
                return self.status(i, PERMISSION_DENIED, "outside the served folder"), "escape"
            try:
                os.remove(path)
                return self.status(i, OK), None
            except FileNotFoundError:
                return self.status(i, NO_SUCH_FILE, "No such file"), None
        if kind == RENAME:
            src, dst = self.local(r.string()), self.local(r.string())
            if src is None or dst is None:
                return self.status(i, PERMISSION_DENIED, "outside the served folder"), "escape"
            if os.path.exists(dst):
                return self.status(i, FAILURE, "exists"), None
            os.rename(src, dst)
            return self.status(i, OK), "renamed"
        if kind == EXTENDED:
            name = r.string()
            if name == b"posix-rename@openssh.com":
                src, dst = self.local(r.string()), self.local(r.string())
                if src is None or dst is None:
                    return self.status(i, PERMISSION_DENIED, "outside the served folder"), "escape"
                os.replace(src, dst)
                return self.status(i, OK), "renamed"
            if name == b"fsync@openssh.com":
                entry = self.handles.get(r.string())
                if entry and entry[0] == "file":
                    entry[1].flush()
                    os.fsync(entry[1].fileno())
                return self.status(i, OK), None
            return self.status(i, OP_UNSUPPORTED, "unsupported"), None
        return self.status(i, OP_UNSUPPORTED, "unsupported"), None

    def version(self):
        return packet(VERSION, u32(3) + string("posix-rename@openssh.com") + string("1")
                      + string("fsync@openssh.com") + string("1"))

    def trap(self, kind, i, reply):
        """MODE's treatment of the honest `reply` to request `i`; None: it was sent."""
        mode = self.args.mode
        if mode == "absurd-length":
            self.send(u32(0xFFFFFFF0) + bytes([STATUS]) + u32(i or 0) + b"\x00" * 64)
        elif mode == "wrong-id":
            if kind == INIT:
                self.send(reply)  # VERSION has no id
            else:
                self.send(reply[:5] + u32(i + 1000) + reply[9:])
        elif mode == "no-reply":
            pass
        elif mode == "slow":
            threading.Thread(target=self.send_slowly, args=(reply,), daemon=True).start()
        elif mode == "bad-version":
            # A VERSION whose first extension name claims 2 GiB, then one that is cut.
            self.send(packet(VERSION, u32(3) + u32(0x7FFFFFFF) + b"posix-rename@openssh.com"))
        else:
            self.send(reply)

    def serve(self):
        try:
            while True:
                length = struct.unpack(">I", self.read_exact(4))[0]
                body = self.read_exact(length)
                kind = body[0]
                r = Reader(body[1:])
                if kind == INIT:
                    i, reply, note = None, self.version(), None
                else:
                    i = r.u32()
                    start = r.at
                    paths = []
                    if kind in (OPEN, OPENDIR, STAT, LSTAT, REMOVE, REALPATH, RENAME):
                        paths.append(r.string().decode("utf-8", "replace"))
                        if kind == RENAME:
                            paths.append(r.string().decode("utf-8", "replace"))
                    elif kind == EXTENDED:
                        name = r.string().decode("utf-8", "replace")
                        paths.append(name)
                        if name == "posix-rename@openssh.com":
                            paths += [r.string().decode("utf-8", "replace"), r.string().decode("utf-8", "replace")]
                    r.at = start
                    reply, note = self.answer(kind, i, r)
                name = KIND_NAMES.get(kind, str(kind))
                if kind == EXTENDED and paths and paths[0] == "posix-rename@openssh.com":
                    name = "posix-rename"
                elif kind == EXTENDED and paths and paths[0] == "fsync@openssh.com":
                    name = "fsync"
                act = "answered"
                if not self.trapped and name == self.args.at:
                    self.trapped = True
                    act = self.args.mode
                    self.trap(kind, i, reply)
                else:
                    self.send(reply)
                record = {"session": self.number, "request": name, "id": i, "act": act, "note": note}
                if kind != INIT:
                    record["paths"] = paths
                if kind == WRITE:
                    record.pop("paths", None)
                self.log.write(**record)
        except (EOFError, OSError, struct.error):
            pass
        finally:
            for kind, f in self.handles.values():
                if kind == "file":
                    f.close()
            self.log.write(session=self.number, request="(end)", act="channel closed")
            try:
                self.channel.close()
            except Exception:
                pass


class Server(paramiko.ServerInterface):
    def __init__(self, args, log):
        self.args, self.log = args, log

    def get_allowed_auths(self, username):
        return "password"

    def check_auth_none(self, username):
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL if password == self.args.password else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_subsystem_request(self, channel, name):
        if name != "sftp":
            return False
        session = Session(channel, self.args, self.log)
        threading.Thread(target=session.serve, daemon=True).start()
        return True


def serve_ssh(conn, args, key, log):
    transport = paramiko.Transport(conn)
    transport.add_server_key(key)
    try:
        transport.start_server(server=Server(args, log))
        while transport.is_active():
            time.sleep(0.2)
    except Exception as e:  # a client that hangs up mid-handshake
        log.write(session=None, request="(ssh)", act="transport error: %s" % e)
    finally:
        transport.close()


def serve_raw(conn, args):
    try:
        if args.mode == "endless-banner":
            n = 0
            while True:
                n += 1
                conn.sendall(b"220 this is not an SSH server, line %d\r\n" % n)
                time.sleep(0.01)
        elif args.mode == "endless-line":
            conn.sendall(b"220 ")
            while True:
                conn.sendall(b"x" * 1024)
                time.sleep(0.01)
        elif args.mode == "slow-banner":
            for b in b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n":
                conn.sendall(bytes([b]))
                time.sleep(1)
            time.sleep(3600)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=[
        "absurd-length", "wrong-id", "no-reply", "slow", "bad-version", "dotdot-names",
        "endless-banner", "endless-line", "slow-banner"])
    p.add_argument("--at", default="init", help="the request kind that gets MODE's treatment")
    p.add_argument("--dir", required=True)
    p.add_argument("--password", default="hostile-pw")
    p.add_argument("--lifetime", type=float, default=300.0)
    args = p.parse_args()

    os.makedirs(os.path.join(args.dir, "root"), exist_ok=True)
    # paramiko's complaints (a client that hangs up mid-handshake) go to a file, not stderr.
    logging.basicConfig(filename=os.path.join(args.dir, "paramiko.log"), level=logging.INFO)
    log = Log(os.path.join(args.dir, "requests.log"))
    raw = args.mode in ("endless-banner", "endless-line", "slow-banner")
    key = None
    # Without SSH there is no key; the config still needs a well-formed pin.
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(b"no key").digest()).decode().rstrip("=")
    if not raw:
        key = paramiko.ECDSAKey.generate(bits=256)
        key.write_private_key_file(os.path.join(args.dir, "host_key"))
        digest = hashlib.sha256(key.asbytes()).digest()
        fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.5)
    print("PORT %d" % listener.getsockname()[1])
    print("FINGERPRINT %s" % fingerprint, flush=True)

    deadline = time.monotonic() + args.lifetime
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        target = serve_raw if raw else serve_ssh
        extra = (args,) if raw else (args, key, log)
        threading.Thread(target=target, args=(conn,) + extra, daemon=True).start()
    sys.exit(0)


if __name__ == "__main__":
    main()
