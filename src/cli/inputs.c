/* Batch inputs: folder, glob or @list into a sorted list of paths. */
#define _POSIX_C_SOURCE 200809L
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "error.h"
#include "image.h"

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

int cs_inputs_is_batch(const char *spec)
{
    if (!spec) return 0;
    if (spec[0] == '@' || is_dir(spec)) return 1;
    struct stat sb;
    return strpbrk(spec, "*?[") && stat(spec, &sb) != 0;
}

static clstyle_status add(cs_input_list *l, int *cap, const char *path)
{
    if (l->n == *cap) {
        int c = *cap ? *cap * 2 : 64;
        char **p = realloc(l->paths, (size_t)c * sizeof *p);
        if (!p) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory listing the inputs");
        l->paths = p;
        *cap = c;
    }
    if (!(l->paths[l->n] = strdup(path))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory listing the inputs");
    l->n++;
    return CLSTYLE_OK;
}

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static clstyle_status from_folder(const char *dir, cs_input_list *l, int *cap)
{
    DIR *d = opendir(dir);
    if (!d) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot read the folder: %s", dir, strerror(errno));
    clstyle_status st = CLSTYLE_OK;
    size_t len = strlen(dir);
    const char *sep = len && dir[len - 1] == '/' ? "" : "/";
    for (struct dirent *e; st == CLSTYLE_OK && (e = readdir(d));) {
        char path[4096];
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name)) continue;
        snprintf(path, sizeof path, "%s%s%s", dir, sep, e->d_name);
        if (!is_dir(path)) st = add(l, cap, path);
    }
    closedir(d);
    return st;
}

static clstyle_status from_glob(const char *pattern, cs_input_list *l, int *cap)
{
    glob_t g;
    int r = glob(pattern, 0, NULL, &g);
    if (r == GLOB_NOMATCH) return CLSTYLE_OK;
    if (r != 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot expand the pattern (%s)", pattern,
                               r == GLOB_NOSPACE ? "out of memory" : "a folder could not be read");
    clstyle_status st = CLSTYLE_OK;
    for (size_t i = 0; i < g.gl_pathc && st == CLSTYLE_OK; i++)
        if (!is_dir(g.gl_pathv[i])) st = add(l, cap, g.gl_pathv[i]);
    globfree(&g);
    return st;
}

/* A missing file named in the list is not an error here: it fails as its picture. */
static clstyle_status from_list(const char *list, cs_input_list *l, int *cap)
{
    FILE *f = fopen(list, "r");
    if (!f) return cs_fail(CLSTYLE_ERR_IO, "@%s: cannot read the list: %s", list, strerror(errno));
    char line[4096];
    clstyle_status st = CLSTYLE_OK;
    while (st == CLSTYLE_OK && fgets(line, sizeof line, f)) {
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        while (n && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
        const char *p = line + strspn(line, " \t");
        if (*p && *p != '#') st = add(l, cap, p);
    }
    if (st == CLSTYLE_OK && ferror(f)) st = cs_fail(CLSTYLE_ERR_IO, "@%s: cannot read the list: %s", list, strerror(errno));
    fclose(f);
    return st;
}

static int by_path(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted, and each path once (a list may name a file twice). */
static void sort_unique(cs_input_list *l)
{
    qsort(l->paths, (size_t)l->n, sizeof *l->paths, by_path);
    int k = 0;
    for (int i = 0; i < l->n; i++) {
        if (k && !strcmp(l->paths[k - 1], l->paths[i])) free(l->paths[i]);
        else l->paths[k++] = l->paths[i];
    }
    l->n = k;
}

clstyle_status cs_inputs_expand(const char *spec, cs_input_list *out)
{
    int cap = 0;
    clstyle_status st;
    *out = (cs_input_list){ 0 };
    if (spec[0] == '@') st = from_list(spec + 1, out, &cap);
    else if (is_dir(spec)) st = from_folder(spec, out, &cap);
    else st = from_glob(spec, out, &cap);
    if (st == CLSTYLE_OK && out->n == 0)
        st = cs_fail(CLSTYLE_ERR_IO, "%s: no pictures found (%s)", spec,
                     spec[0] == '@' ? "the list names no file" : is_dir(spec) ? "no .png, .jpg or .jpeg file in the folder"
                                                                             : "the pattern matches no file");
    if (st != CLSTYLE_OK) {
        cs_inputs_free(out);
        return st;
    }
    sort_unique(out);
    return CLSTYLE_OK;
}

void cs_inputs_free(cs_input_list *l)
{
    for (int i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    *l = (cs_input_list){ 0 };
}

void cs_input_stem(const char *path, char *out, size_t n)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path, *dot = strrchr(base, '.');
    int len = dot && dot > base ? (int)(dot - base) : (int)strlen(base);
    snprintf(out, n, "%.*s", len, base);
}

void cs_output_name(const char *content, const char *style, int format, char *out, size_t n)
{
    char c[1024], s[1024] = "";
    cs_input_stem(content, c, sizeof c);
    if (style) cs_input_stem(style, s, sizeof s);
    int jpeg = format ? format == 2 : cs_image_path_is_jpeg(content);
    snprintf(out, n, "%s%s%s.%s", c, style ? "__" : "", s, jpeg ? "jpg" : "png");
}
