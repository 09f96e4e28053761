/* The convolution algorithm choice (cl_choose.c) on the default OpenCL
 * device: measured once, then read from the cache; a damaged cache is
 * measured again; a cached choice is what runs; an algorithm marked failed
 * is never chosen; params.conv forces one. No OpenCL device: skipped. */
#include <dirent.h>
#include <unistd.h>

#include "cl_be.h"
#include "testutil.h"

static cs_backend_params params;

/* Creates the backend and returns its notes (the choice and why). */
static void notes_of(const char *conv, char *out, size_t n)
{
    cs_backend *be = NULL;
    cs_backend_params p = params;
    p.cl.conv = conv;
    clstyle_status st = cs_backend_create("opencl", &p, &be);
    if (st == CLSTYLE_ERR_DEVICE) SKIP("no OpenCL device: %s", clstyle_last_error());
    CHECK_OK(st);
    snprintf(out, n, "%s", be ? be->notes : "");
    cs_backend_destroy(be);
}

/* The path of the one conv-*.txt in the cache folder. */
static int choice_file(char *out, size_t n)
{
    DIR *d = opendir(params.cl.cache_dir);
    struct dirent *e;
    int found = 0;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, "conv-", 5)) found += snprintf(out, n, "%s/%s", params.cl.cache_dir, e->d_name) > 0;
    if (d) closedir(d);
    return found;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0, "cannot write %s", path);
    if (f) fclose(f);
}

/* A choice file where only algorithm `good` ran (5 ms), the others failed (-1)
 * or were skipped (-2); in class `none` nothing ran. */
static void write_cache(const char *path, int good, int none)
{
    char text[2048];
    size_t len = 0;
    for (int k = 0; k < CS_CONV_CLASSES; k++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "%s", cl_conv_classes[k].name);
        for (int a = 0; a < cl_n_conv_algos; a++)
            len += (size_t)snprintf(text + len, sizeof text - len, " %s=%s", cl_conv_algos[a].name,
                                    a == good && k != none ? "5.0" : (a + k) % 2 ? "-1" : "-2.0000");
        len += (size_t)snprintf(text + len, sizeof text - len, "\n");
    }
    write_file(path, text);
}

/* Number of shape classes whose chosen algorithm (the word after "): ") is algo. */
static int chosen(const char *notes, const char *algo)
{
    int count = 0;
    size_t n = strlen(algo);
    for (const char *p = strstr(notes, "): "); p; p = strstr(p + 3, "): "))
        count += !strncmp(p + 3, algo, n) && p[3 + n] == ' ';
    return count;
}

int main(void)
{
    char dir[] = "/tmp/clstyle-choose-XXXXXX", path[2048], notes[2048];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    cs_backend_params_from_env(&params);
    snprintf(params.cl.cache_dir, sizeof params.cl.cache_dir, "%s", dir);

    notes_of(NULL, notes, sizeof notes);
    CHECK(strstr(notes, "measured on this device"), "first use measures: %s", notes);
    int per_class = 0;
    for (int a = 0; a < cl_n_conv_algos; a++) per_class += chosen(notes, cl_conv_algos[a].name);
    CHECK(per_class == CS_CONV_CLASSES, "an algorithm per class: %s", notes);
    CHECK(choice_file(path, sizeof path) == 1, "one choice file in %s", dir);

    notes_of(NULL, notes, sizeof notes);
    CHECK(strstr(notes, "from ") && strstr(notes, path), "second use reads the cache: %s", notes);

    write_file(path, "ci<=16 gemm=1\ngarbage\n");
    notes_of(NULL, notes, sizeof notes);
    CHECK(strstr(notes, "measured on this device"), "a damaged cache is measured again: %s", notes);

    for (int a = 0; a < cl_n_conv_algos; a++) {
        write_cache(path, a, -1);
        notes_of(NULL, notes, sizeof notes);
        CHECK(strstr(notes, "from ") && chosen(notes, cl_conv_algos[a].name) == CS_CONV_CLASSES, "the cached choice %s runs: %s",
              cl_conv_algos[a].name, notes);
    }
    write_cache(path, 0, 2);
    notes_of(NULL, notes, sizeof notes);
    CHECK(strstr(notes, "measured on this device"), "a class without a working algorithm is measured again: %s", notes);

    for (int a = 0; a < cl_n_conv_algos; a++) {
        char want[64];
        snprintf(want, sizeof want, "%s (forced)", cl_conv_algos[a].name);
        notes_of(cl_conv_algos[a].name, notes, sizeof notes);
        CHECK(strstr(notes, want), "params.conv forces %s: %s", cl_conv_algos[a].name, notes);
    }

    unlink(path);
    rmdir(dir);
    return tu_done("choose");
}
