/* Writes safetensors files for tests: well-formed VGG files from cs_weights,
 * and raw headers for malformed ones. */
#ifndef CS_ST_WRITE_H
#define CS_ST_WRITE_H
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "weights.h"

static inline void stw_u64(FILE *f, uint64_t v)
{
    for (int i = 0; i < 8; i++) fputc((int)(v >> (8 * i)) & 255, f);
}

/* Raw file: 8-byte length, header text, then `data_bytes` zero bytes. */
static inline int stw_raw(const char *path, const char *header, size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    stw_u64(f, strlen(header));
    fputs(header, f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    return fclose(f);
}

static inline uint16_t stw_half(float v)
{
    /* Round-to-nearest float->half for normal values (enough for test weights). */
    uint32_t b;
    memcpy(&b, &v, 4);
    uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 255, mant = b & 0x7fffff;
    if (exp < 103) return (uint16_t)sign;
    if (exp < 113) return (uint16_t)(sign | ((mant | 0x800000) >> (126 - exp)));
    uint32_t h = sign | ((exp - 112) << 10) | (mant >> 13);
    return (uint16_t)(h + ((mant >> 12) & 1));
}

/* Writes w with torchvision names; f16 selects the dtype; extra adds a
 * classifier tensor (as in a full checkpoint); meta is a JSON object or NULL. */
static inline int stw_vgg(const char *path, const cs_weights *w, int f16, int extra, const char *meta)
{
    static char header[1 << 16];
    size_t off = 0, esize = f16 ? 2 : 4;
    int n = 0;
    n += snprintf(header + n, sizeof header - n, "{");
    if (meta) n += snprintf(header + n, sizeof header - n, "\"__metadata__\":%s,", meta);
    for (int k = 0; k < w->n_conv; k++) {
        int idx = cs_weights_torch_index(w, k);
        size_t nw = (size_t)w->cout[k] * w->cin[k] * 9, nb = (size_t)w->cout[k];
        n += snprintf(header + n, sizeof header - n,
                      "\"features.%d.weight\":{\"dtype\":\"%s\",\"shape\":[%d,%d,3,3],\"data_offsets\":[%zu,%zu]},"
                      "\"features.%d.bias\":{\"dtype\":\"%s\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]},",
                      idx, f16 ? "F16" : "F32", w->cout[k], w->cin[k], off, off + nw * esize, idx, f16 ? "F16" : "F32",
                      w->cout[k], off + nw * esize, off + (nw + nb) * esize);
        off += (nw + nb) * esize;
    }
    if (extra) {
        n += snprintf(header + n, sizeof header - n,
                      "\"classifier.0.weight\":{\"dtype\":\"F32\",\"shape\":[4,8],\"data_offsets\":[%zu,%zu]},", off, off + 128);
        off += 128;
    }
    header[n - 1] = '}';
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    stw_u64(f, (uint64_t)n);
    fwrite(header, 1, (size_t)n, f);
    for (int k = 0; k < w->n_conv; k++) {
        const float *arrays[2] = { w->w[k], w->b[k] };
        size_t counts[2] = { (size_t)w->cout[k] * w->cin[k] * 9, (size_t)w->cout[k] };
        for (int a = 0; a < 2; a++)
            for (size_t i = 0; i < counts[a]; i++) {
                if (f16) {
                    uint16_t h = stw_half(arrays[a][i]);
                    fwrite(&h, 2, 1, f);
                } else {
                    fwrite(&arrays[a][i], 4, 1, f);
                }
            }
    }
    for (int i = 0; extra && i < 128; i++) fputc(0, f);
    return fclose(f);
}
#endif
