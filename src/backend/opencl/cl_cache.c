#define _POSIX_C_SOURCE 200809L
#include "cl_cache.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "error.h"

extern const char *const cs_cl_sources[];
extern const char *const cs_cl_names[];

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* separator, so "ab"+"c" != "a"+"bc" */
}

/* The embedded file called name, or NULL. */
static const char *source(const char *name)
{
    for (int i = 0; i < cs_cl_count; i++)
        if (!strcmp(cs_cl_names[i], name)) return cs_cl_sources[i];
    return NULL;
}

/* The program's prefix and files, one after another; NULL when out of memory or a file is unknown. */
static char *join_sources(const cs_cl_program *prog)
{
    const char *prefix = prog->prefix ? prog->prefix : "";
    size_t len = strlen(prefix) + 1;
    for (const char *const *f = prog->files; *f; f++) len += source(*f) ? strlen(source(*f)) + 1 : 0;
    char *s = malloc(len), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "%s", prefix);
    for (const char *const *f = prog->files; *f; f++) {
        if (!source(*f)) {
            free(s);
            return NULL;
        }
        p += sprintf(p, "%s\n", source(*f));
    }
    return s;
}

/* Creates the cache folder `dir` (mkdir -p); 0 when the cache is off or unusable. */
static int cache_dir(const char *dir, char *out, size_t n)
{
    if (!dir || !*dir) return 0;
    snprintf(out, n, "%s", dir);
    for (char *p = out + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(out, 0755);
        *p = '/';
    }
    return mkdir(out, 0755) == 0 || errno == EEXIST;
}

/* A cache entry is a header, then the driver's binary. The header is checked
 * before the driver sees a byte: a truncated or damaged entry made PoCL
 * assert or crash, on every run, until someone deleted the cache by hand. */
enum { HEADER_BYTES = 32, ENTRY_VERSION = 1 };
static const char entry_magic[8] = { 'C', 'L', 'S', 'T', 'Y', 'L', 'E', 'K' };
#define MAX_ENTRY_BYTES ((long)256 << 20)

static uint64_t fnv1a_bytes(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* magic[8], version u32, reserved u32, binary length u64, FNV-1a of the binary u64 */
static void make_header(unsigned char *h, const unsigned char *bin, size_t size)
{
    memcpy(h, entry_magic, 8);
    put_le(h + 8, ENTRY_VERSION, 4);
    put_le(h + 12, 0, 4);
    put_le(h + 16, size, 8);
    put_le(h + 24, fnv1a_bytes(bin, size), 8);
}

static int entry_valid(const unsigned char *e, size_t size)
{
    return size > HEADER_BYTES && !memcmp(e, entry_magic, 8) && get_le(e + 8, 4) == ENTRY_VERSION &&
           get_le(e + 16, 8) == size - HEADER_BYTES && get_le(e + 24, 8) == fnv1a_bytes(e + HEADER_BYTES, size - HEADER_BYTES);
}

/* The whole entry, or NULL when the file is missing, unreadable or absurdly large. */
static unsigned char *read_entry(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char *e = NULL;
    long n = (fseek(f, 0, SEEK_END) == 0) ? ftell(f) : -1;
    if (n > 0 && n <= MAX_ENTRY_BYTES && fseek(f, 0, SEEK_SET) == 0 && (e = malloc((size_t)n)) &&
        fread(e, 1, (size_t)n, f) != (size_t)n) {
        free(e);
        e = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return e;
}

static cl_program load_binary(cl_context ctx, const cs_cl_device *dev, const unsigned char *bin, size_t size,
                              const char *options)
{
    cl_int err, bstat;
    cl_program p = clCreateProgramWithBinary(ctx, 1, &dev->device, &size, &bin, &bstat, &err);
    if (err != CL_SUCCESS || bstat != CL_SUCCESS) {
        if (err == CL_SUCCESS) clReleaseProgram(p);
        return NULL;
    }
    if (clBuildProgram(p, 1, &dev->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(p);
        return NULL;
    }
    return p;
}

/* A checked entry the driver accepts, or NULL. A damaged entry, or one the
 * driver refuses (Oclgrind answers CL_INVALID_BINARY), is removed, so the
 * caller's rebuild from source writes a good one in its place. */
static cl_program try_binary(cl_context ctx, const cs_cl_device *dev, const char *path, const char *options)
{
    size_t size = 0;
    unsigned char *e = read_entry(path, &size);
    cl_program p = NULL;
    if (e && entry_valid(e, size)) p = load_binary(ctx, dev, e + HEADER_BYTES, size - HEADER_BYTES, options);
    if (!p && access(path, F_OK) == 0) unlink(path);
    free(e);
    return p;
}

/* Best effort: a cache that cannot be written is simply not used. */
static void save_binary(cl_program p, const char *path)
{
    size_t size = 0;
    if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || size == 0) return;
    unsigned char *bin = malloc(size), header[HEADER_BYTES];
    cs_atomic a;
    if (bin && clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS &&
        cs_atomic_open(&a, path) == CLSTYLE_OK) {
        make_header(header, bin, size);
        cs_atomic_commit(&a, fwrite(header, 1, sizeof header, a.fp) == sizeof header && fwrite(bin, 1, size, a.fp) == size);
    }
    free(bin);
}

/* The first line of a build log that has something on it (its length in *n). */
static const char *first_line(const char *log, int *n)
{
    while (*log == '\n' || *log == '\r' || *log == ' ') log++;
    *n = (int)strcspn(log, "\r\n");
    return log;
}

/* The failure of clBuildProgram, with the log's first line in the message
 * and, unless quiet, the whole log on stderr. */
static clstyle_status build_failed(cl_program p, const cs_cl_device *dev, cl_int err, const char *what, int quiet)
{
    size_t n = 0;
    clGetProgramBuildInfo(p, dev->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = malloc(n + 1);
    if (log && clGetProgramBuildInfo(p, dev->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) == CL_SUCCESS) log[n] = 0;
    else if (log) log[0] = 0;
    if (log && !quiet) fprintf(stderr, "clstyle: OpenCL build log for %s on %s:\n%s\n", what, dev->device_name, log);
    int len = 0;
    const char *line = log ? first_line(log, &len) : "";
    clstyle_status st = cs_fail(CLSTYLE_ERR_OPENCL, "%s failed to build on %s (clBuildProgram: %s): %.*s%s", what, dev->device_name,
                                cs_cl_err_name(err), len > 300 ? 300 : len, line, quiet ? "" : " (build log above)");
    free(log);
    return st;
}

static clstyle_status build_source(cl_context ctx, const cs_cl_device *dev, const char *src, const char *options,
                                   const char *what, int quiet, cl_program *out)
{
    cl_int err;
    cl_program p = clCreateProgramWithSource(ctx, 1, &src, NULL, &err);
    if (err != CL_SUCCESS) return cs_fail(CLSTYLE_ERR_OPENCL, "clCreateProgramWithSource(%s) failed: %s", what, cs_cl_err_name(err));
    err = clBuildProgram(p, 1, &dev->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clstyle_status st = build_failed(p, dev, err, what, quiet);
        clReleaseProgram(p);
        return st;
    }
    *out = p;
    return CLSTYLE_OK;
}

clstyle_status cs_cl_build(cl_context ctx, const cs_cl_device *dev, const cs_cl_program *prog, const char *cache, cl_program *out,
                           int *from_cache)
{
    char *src = join_sources(prog);
    if (!src) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory, or a file not embedded", prog->what);
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, src);
    h = fnv1a(h, prog->options);
    h = fnv1a(h, dev->device_name);
    h = fnv1a(h, dev->driver);
    h = fnv1a(h, dev->platform_version);
    char dir[4096], path[4200];
    int cached = cache_dir(cache, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%016llx.bin", dir, (unsigned long long)h);
    *from_cache = 0;
    clstyle_status st = CLSTYLE_OK;
    if (cached && (*out = try_binary(ctx, dev, path, prog->options))) {
        *from_cache = 1;
    } else if ((st = build_source(ctx, dev, src, prog->options, prog->what, prog->quiet, out)) == CLSTYLE_OK && cached) {
        save_binary(*out, path);
    }
    free(src);
    return st;
}

clstyle_status cs_cl_build_file(cl_context ctx, const cs_cl_device *dev, int index, const char **name)
{
    cl_program p = NULL;
    *name = cs_cl_names[index];
    CS_TRY(build_source(ctx, dev, cs_cl_sources[index], "", cs_cl_names[index], 0, &p));
    clReleaseProgram(p);
    return CLSTYLE_OK;
}
