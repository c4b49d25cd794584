/* scratch.c — large per-sample buffers of the observables, in memory or in
 * a scratch file.
 *
 * The reduced X and the centred Y of `complexity` grow with N. Above a
 * memory budget they are placed in an unlinked temporary file in $TMPDIR
 * (or /tmp), mapped into memory: the code using them is the same, and the
 * kernel writes their pages to the file and drops them under memory
 * pressure instead of failing or swapping. A header in front of every
 * buffer records how it was made, so that one free function releases
 * both kinds. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "obs_internal.h"

typedef struct big_hdr {
    uint64_t magic, bytes, mapped, pad[5]; /* 64 bytes: keeps the data aligned */
} big_hdr;

#define BIG_MAGIC 0x6463786269676275ULL
#define BIG_HUGE ((size_t)2 << 20) /* a huge page: buffers from this size on are mapped */

dcx_status dcx__big_calloc(void *out, int64_t count, size_t size, int scratch)
{
    int64_t bytes;
    *(void **)out = NULL;
    if (count < 1) count = 1;
    if (!dcx__mul_ok(count, (int64_t)size, &bytes) || bytes > INT64_MAX - (int64_t)sizeof(big_hdr)) {
        return dcx_set_error(DCX_ERR_NOMEM, "out of memory (buffer of %lld x %zu bytes)", (long long)count, size);
    }
    size_t total = (size_t)bytes + sizeof(big_hdr);
    big_hdr *h;
    if (!scratch && total >= BIG_HUGE) {
        /* an anonymous mapping aligned to 2 MiB and advised into huge
         * pages: a few faults instead of one per 4 KiB page (calloc's
         * memory starts 16 bytes into a page, and madvise could only
         * cover its whole huge pages inside); zero like calloc */
        const size_t len = (total + BIG_HUGE - 1) / BIG_HUGE * BIG_HUGE;
        char *p = mmap(NULL, len + BIG_HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld bytes)", (long long)bytes);
        char *a = (char *)(((uintptr_t)p + BIG_HUGE - 1) & ~(uintptr_t)(BIG_HUGE - 1));
        if (a > p) munmap(p, (size_t)(a - p));
        if (a + len < p + len + BIG_HUGE) munmap(a + len, (size_t)(p + len + BIG_HUGE - (a + len)));
#ifdef MADV_HUGEPAGE
        (void)madvise(a, len, MADV_HUGEPAGE); /* advice only: failure is harmless */
#endif
        h = (big_hdr *)(void *)a;
        total = len; /* what big_free unmaps */
        scratch = 1; /* released with munmap */
    } else if (!scratch) {
        h = dcx__calloc(1, total);
        if (!h) return dcx_set_error(DCX_ERR_NOMEM, "out of memory (%lld bytes)", (long long)bytes);
    } else {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        if (!dir || !*dir) dir = "/tmp";
        snprintf(path, sizeof path, "%s/deepcx-scratch-XXXXXX", dir);
        int fd = mkstemp(path);
        if (fd < 0) return dcx_set_error(DCX_ERR_IO, "scratch file in %s: %s", dir, strerror(errno));
        unlink(path); /* gone from the directory; freed with the mapping */
        if (ftruncate(fd, (off_t)total) != 0) {
            int e = errno;
            close(fd);
            return dcx_set_error(DCX_ERR_IO, "scratch file in %s: cannot make it %lld bytes: %s", dir,
                                 (long long)total, strerror(e));
        }
        void *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        int e = errno;
        close(fd);
        if (p == MAP_FAILED)
            return dcx_set_error(DCX_ERR_IO, "scratch file in %s: cannot map %lld bytes: %s", dir, (long long)total,
                                 strerror(e));
        h = p; /* a new file reads as zeros, like calloc */
    }
    h->magic = BIG_MAGIC;
    h->bytes = (uint64_t)total;
    h->mapped = (uint64_t)(scratch != 0);
    *(void **)out = h + 1;
    return DCX_OK;
}

void dcx__big_free(void *p)
{
    if (!p) return;
    big_hdr *h = (big_hdr *)p - 1;
    if (h->mapped) munmap(h, (size_t)h->bytes);
    else free(h);
}
