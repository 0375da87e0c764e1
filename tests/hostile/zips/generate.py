#!/usr/bin/env python3
"""Writes the hostile zips for tests/hostile_config.rs (run once; the zips are committed).

Each zip is one way a OneRoster zip handed to `sis-extract validate` can attack it;
expectations.txt says what validate must answer for each.
"""
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = (
    "propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
    "file.academicSessions,absent\nfile.categories,absent\nfile.classes,absent\nfile.classResources,absent\n"
    "file.courses,absent\nfile.courseResources,absent\nfile.demographics,absent\nfile.enrollments,absent\n"
    "file.lineItems,absent\nfile.orgs,absent\nfile.resources,absent\nfile.results,absent\nfile.users,bulk\n"
    "source.systemName,Test\nsource.systemCode,test\n"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
MIB = 1024 * 1024


def path(name):
    return os.path.join(HERE, name)


def write(name, entries):
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for entry_name, data in entries:
            z.writestr(entry_name, data)


def streamed(name, entry_name, head, filler, size, tail):
    """One entry of `head`, `size` bytes of `filler`, then `tail`, without holding it."""
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("manifest.csv", MANIFEST)
        info = zipfile.ZipInfo(entry_name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with z.open(info, "w", force_zip64=True) as out:
            out.write(head)
            chunk = filler * MIB
            for _ in range(size // MIB):
                out.write(chunk)
            out.write(tail)


def raw_zip(name, entry_name, data, declared_size):
    """A zip whose headers declare `declared_size` bytes unpacked, whatever `data` holds."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    crc = zlib.crc32(data)
    encoded = entry_name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(deflated),
                        declared_size, len(encoded), 0) + encoded
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(deflated),
                          declared_size, len(encoded), 0, 0, 0, 0, 0, 0) + encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(deflated), 0)
    with open(path(name), "wb") as f:
        f.write(local + deflated + central + end)


# One quoted 256 MiB field: the csv crate would buffer it whole (issue 18: 2 GiB took 6.3 GB).
streamed("field-bomb.zip", "users.csv", (USERS_HEADER + 'u1,,,true,o1,student,u,,"').encode(), b"a",
         256 * MIB, b'",x,,,,,,,,,\n')
# One unquoted 64 MiB line with no line break at all.
streamed("line-bomb.zip", "users.csv", USERS_HEADER.encode(), b"b", 64 * MIB, b"")
# Declares 3 GiB unpacked (the data is tiny): refused before anything is written.
raw_zip("declared-bomb.zip", "users.csv", USERS_HEADER.encode(), 3 * 1024 * MIB)
# A symbolic link entry pointing at a file whose content must never be echoed.
info = zipfile.ZipInfo("users.csv")
info.create_system = 3
info.external_attr = (0o120777 << 16)
with zipfile.ZipFile(path("symlink-entry.zip"), "w") as z:
    z.writestr("manifest.csv", MANIFEST)
    z.writestr(info, "/etc/passwd")
write("folder-entry.zip", [("manifest.csv", MANIFEST), ("../users.csv", USERS_HEADER)])
write("absolute-entry.zip", [("manifest.csv", MANIFEST), ("/tmp/users.csv", USERS_HEADER)])
write("duplicate-entry.zip", [("manifest.csv", MANIFEST), ("users.csv", USERS_HEADER), ("USERS.csv", USERS_HEADER)])
write("too-many-entries.zip", [(f"f{i}.csv", "x\n") for i in range(101)])
