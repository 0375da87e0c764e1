#!/usr/bin/python3
"""A small SFTP server built on paramiko, for sis-extract's interop tests.

Serves one folder (--root) as "/" over SFTP on 127.0.0.1, with password and public-key
authentication for one user. Options make it behave like the awkward servers districts
meet in the wild:

  --window BYTES             the SSH receive window it offers (paramiko's default is
                             2 MiB; Dropbear-like servers offer 24-256 KiB)
  --no-extensions            announce neither posix-rename@openssh.com nor
                             fsync@openssh.com, and refuse both if asked anyway
  --refuse-existing-rename   SSH_FXP_RENAME fails when the target exists (the SFTP v3
                             draft's semantics; OpenSSH's server behaves so too)

Without --no-extensions it announces and implements both extensions. The chosen port is
written to --port-file (after binding) and the pid to --pid-file, so a test can start it
on port 0 and wait for the file. Runs until killed. Needs Debian's python3-paramiko: run
it with /usr/bin/python3.
"""

import argparse
import logging
import os
import socket
import sys
import threading

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_VERSION
from paramiko.message import Message


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", required=True, help="folder served as /")
    p.add_argument("--host-key", required=True, help="OpenSSH private key file (ed25519, ecdsa or rsa)")
    p.add_argument("--user", required=True)
    p.add_argument("--password", help="accepted password (default: read from $SFTP_STUB_PASSWORD)")
    p.add_argument("--authorized-keys", help="OpenSSH authorized_keys file for public-key authentication")
    p.add_argument("--port", type=int, default=0, help="0 (default) picks a free port")
    p.add_argument("--port-file")
    p.add_argument("--pid-file")
    p.add_argument("--log", help="paramiko's debug log goes here (default: its INFO log to stderr)")
    p.add_argument("--window", type=int, default=None, help="SSH receive window in bytes")
    p.add_argument("--no-extensions", action="store_true")
    p.add_argument("--refuse-existing-rename", action="store_true")
    return p.parse_args()


ARGS = parse_args()
PASSWORD = ARGS.password if ARGS.password is not None else os.environ.get("SFTP_STUB_PASSWORD")
ROOT = os.path.realpath(ARGS.root)


def load_host_key(path):
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except Exception as e:  # wrong type: try the next
            errors.append("%s: %s" % (cls.__name__, e))
    sys.exit("cannot read host key %s: %s" % (path, "; ".join(errors)))


def load_authorized_keys(path):
    keys = set()
    if not path:
        return keys
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 2 and not line.startswith("#"):
                keys.add(fields[1])  # the base64 blob identifies the key
    return keys


HOST_KEY = load_host_key(ARGS.host_key)
AUTHORIZED = load_authorized_keys(ARGS.authorized_keys)


class Server(paramiko.ServerInterface):
    def check_auth_password(self, username, password):
        if username == ARGS.user and PASSWORD is not None and password == PASSWORD:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        if username == ARGS.user and key.get_base64() in AUTHORIZED:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def get_allowed_auths(self, username):
        methods = []
        if AUTHORIZED:
            methods.append("publickey")
        if PASSWORD is not None:
            methods.append("password")
        return ",".join(methods)

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class Handle(paramiko.SFTPHandle):
    def stat(self):
        try:
            return paramiko.SFTPAttributes.from_stat(os.fstat(self.readfile.fileno()))
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)

    def chattr(self, attr):
        try:
            paramiko.SFTPServer.set_file_attr(self.filename, attr)
            return paramiko.SFTP_OK
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)


class Folder(paramiko.SFTPServerInterface):
    """paramiko's test "stub" server: the SFTP namespace is ROOT."""

    def _realpath(self, path):
        return ROOT + self.canonicalize(path)

    def list_folder(self, path):
        path = self._realpath(path)
        try:
            out = []
            for name in os.listdir(path):
                attr = paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(path, name)))
                attr.filename = name
                out.append(attr)
            return out
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)

    def stat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._realpath(path)))
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)

    def lstat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.lstat(self._realpath(path)))
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)

    def open(self, path, flags, attr):
        path = self._realpath(path)
        try:
            binary_flag = getattr(os, "O_BINARY", 0)
            flags |= binary_flag
            mode = getattr(attr, "st_mode", None)
            fd = os.open(path, flags, mode if mode is not None else 0o666)
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        if (flags & os.O_CREAT) and (attr is not None):
            attr._flags &= ~attr.FLAG_PERMISSIONS
            paramiko.SFTPServer.set_file_attr(path, attr)
        if flags & os.O_WRONLY:
            fstr = "ab" if flags & os.O_APPEND else "wb"
        elif flags & os.O_RDWR:
            fstr = "a+b" if flags & os.O_APPEND else "r+b"
        else:
            fstr = "rb"
        try:
            f = os.fdopen(fd, fstr)
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        handle = Handle(flags)
        handle.filename = path
        handle.readfile = f
        handle.writefile = f
        return handle

    def remove(self, path):
        try:
            os.remove(self._realpath(path))
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        return paramiko.SFTP_OK

    def rename(self, oldpath, newpath):
        old, new = self._realpath(oldpath), self._realpath(newpath)
        if ARGS.refuse_existing_rename and os.path.lexists(new):
            return paramiko.SFTP_FAILURE
        try:
            os.rename(old, new)
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        return paramiko.SFTP_OK

    def posix_rename(self, oldpath, newpath):
        try:
            os.rename(self._realpath(oldpath), self._realpath(newpath))
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        return paramiko.SFTP_OK

    def mkdir(self, path, attr):
        path = self._realpath(path)
        try:
            os.mkdir(path)
            if attr is not None:
                paramiko.SFTPServer.set_file_attr(path, attr)
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        return paramiko.SFTP_OK

    def rmdir(self, path):
        try:
            os.rmdir(self._realpath(path))
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        return paramiko.SFTP_OK

    def chattr(self, path, attr):
        try:
            paramiko.SFTPServer.set_file_attr(self._realpath(path), attr)
        except OSError as e:
            return paramiko.SFTPServer.convert_errno(e.errno)
        return paramiko.SFTP_OK


class SFTPServer(paramiko.SFTPServer):
    """paramiko's SFTP subsystem, with the announced extensions under our control."""

    def _send_server_version(self):
        t, data = self._read_packet()
        if t != paramiko.sftp.CMD_INIT:
            raise paramiko.SFTPError("Incompatible sftp protocol")
        msg = Message()
        msg.add_int(3)
        pairs = ["check-file", "md5,sha1"]
        if not ARGS.no_extensions:
            pairs += ["posix-rename@openssh.com", "1", "fsync@openssh.com", "1"]
        msg.add(*pairs)
        self._send_packet(CMD_VERSION, msg)
        return 3

    def _process(self, t, request_number, msg):
        if t != CMD_EXTENDED:
            return super()._process(t, request_number, msg)
        tag = msg.get_text()
        if tag == "check-file":
            self._check_file(request_number, msg)
        elif tag == "posix-rename@openssh.com" and not ARGS.no_extensions:
            old, new = msg.get_text(), msg.get_text()
            self._send_status(request_number, self.server.posix_rename(old, new))
        elif tag == "fsync@openssh.com" and not ARGS.no_extensions:
            handle = msg.get_binary()
            if handle not in self.file_table:
                self._send_status(request_number, paramiko.SFTP_BAD_MESSAGE, "Invalid handle")
                return
            f = self.file_table[handle].writefile
            try:
                f.flush()
                os.fsync(f.fileno())
                self._send_status(request_number, paramiko.SFTP_OK)
            except OSError as e:
                self._send_status(request_number, paramiko.SFTPServer.convert_errno(e.errno))
        else:
            self._send_status(request_number, paramiko.SFTP_OP_UNSUPPORTED)


def serve(conn):
    kwargs = {}
    if ARGS.window is not None:
        kwargs["default_window_size"] = ARGS.window
    transport = paramiko.Transport(conn, **kwargs)
    transport.add_server_key(HOST_KEY)
    transport.set_subsystem_handler("sftp", SFTPServer, Folder)
    try:
        transport.start_server(server=Server())
    except (paramiko.SSHException, EOFError, OSError):
        return  # e.g. the test's readiness probe, which leaves after the banner
    # The transport runs in its own thread; keep this one until the client leaves.
    transport.join()


def main():
    if ARGS.log:
        paramiko.util.log_to_file(ARGS.log, level=logging.DEBUG)
    else:
        logging.basicConfig(
            stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", ARGS.port))
    listener.listen(16)
    if ARGS.pid_file:
        with open(ARGS.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    if ARGS.port_file:
        # Written whole under a temporary name, then renamed: a reader never sees half.
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write("%d\n" % listener.getsockname()[1])
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
