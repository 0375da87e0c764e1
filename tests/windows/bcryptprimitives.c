/* A TEST-ONLY stand-in for Windows' bcryptprimitives.dll, for running sis-extract.exe
 * under Debian 12's Wine 8.0, which lacks it. Rust's standard library imports
 * ProcessPrng from it; this one fills the buffer with RtlGenRandom (SystemFunction036,
 * advapi32), which Wine has. scripts/windows-smoke builds it into the throwaway Wine
 * prefix; it is never shipped: real Windows (10 and Server 2016 and later) has the DLL.
 *
 *   x86_64-w64-mingw32-gcc -shared -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
