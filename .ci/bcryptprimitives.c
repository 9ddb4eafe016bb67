/* A stand-in bcryptprimitives.dll for Wine 8.0, which lacks ProcessPrng: every Go >= 1.22
 * Windows program calls it at start for its random numbers. It draws from advapi32's
 * SystemFunction036 (RtlGenRandom), which Wine has. Only for running tests under Wine. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x7fffffff ? 0x7fffffff : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
