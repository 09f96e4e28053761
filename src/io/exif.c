#include "exif.h"

#include <stdint.h>

#include "error.h"

enum { TAG_ORIENTATION = 0x0112, TYPE_SHORT = 3, ENTRY_BYTES = 12 };

typedef struct {
    const unsigned char *p;
    size_t n;
    int big_endian;    /* "MM" */
} tiff_reader;

/* Reads a 2- or 4-byte integer at off; the caller has checked off + bytes <= n. */
static uint32_t get(const tiff_reader *t, size_t off, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) {
        int k = t->big_endian ? i : bytes - 1 - i;
        v = v << 8 | t->p[off + (size_t)k];
    }
    return v;
}

/* off + bytes within the block, without overflow. */
static int fits(const tiff_reader *t, size_t off, size_t bytes) { return off <= t->n && bytes <= t->n - off; }

static clstyle_status corrupt(const char *name, const char *what, size_t n)
{
    return cs_fail(CLSTYLE_ERR_FORMAT, "%s: corrupt EXIF block (%s; the block has %zu bytes)", name, what, n);
}

clstyle_status cs_exif_orientation(const unsigned char *tiff, size_t n, const char *name, int *orientation)
{
    tiff_reader t = { tiff, n, 0 };
    *orientation = 1;
    if (n < 8 || (tiff[0] != tiff[1]) || (tiff[0] != 'I' && tiff[0] != 'M')) return corrupt(name, "no TIFF header", n);
    t.big_endian = tiff[0] == 'M';
    if (get(&t, 2, 2) != 42) return corrupt(name, "bad TIFF magic", n);
    size_t ifd = get(&t, 4, 4);
    if (ifd < 8 || !fits(&t, ifd, 2)) return corrupt(name, "IFD0 offset outside the block", n);
    size_t count = get(&t, ifd, 2);
    if (!fits(&t, ifd + 2, count * ENTRY_BYTES)) return corrupt(name, "IFD0 entries run past the end", n);
    for (size_t i = 0; i < count; i++) {
        size_t e = ifd + 2 + i * ENTRY_BYTES;
        if (get(&t, e, 2) != TAG_ORIENTATION) continue;
        /* A SHORT with count 1 sits in the first 2 bytes of the value field. */
        if (get(&t, e + 2, 2) != TYPE_SHORT || get(&t, e + 4, 4) != 1) return corrupt(name, "orientation is not one SHORT", n);
        uint32_t v = get(&t, e + 8, 2);
        if (v > 8) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: EXIF orientation %u is not one of 1 to 8", name, (unsigned)v);
        *orientation = v ? (int)v : 1;
        return CLSTYLE_OK;
    }
    return CLSTYLE_OK;
}
