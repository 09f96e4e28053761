/* Shared by the fuzz targets: the loaders read paths, so each input is
 * written to an in-memory file (memfd) and handed over by its /proc name. */
#ifndef CS_FUZZ_UTIL_H
#define CS_FUZZ_UTIL_H
#include <stddef.h>
#include <stdint.h>

/* The path of a regular in-memory file holding exactly data[0..size). */
const char *fuzz_file(const uint8_t *data, size_t size);

#endif
