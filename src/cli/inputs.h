/* What a batch works on: `-c` expanded into a sorted list of pictures (a
 * folder, a glob or @list.txt) and the results named after them. */
#ifndef CS_INPUTS_H
#define CS_INPUTS_H
#include "clstyle.h"

typedef struct {
    char **paths;      /* sorted by strcmp, no two alike */
    int n;
} cs_input_list;

/* Whether `-c spec` names many pictures: "@list", a folder, or a pattern
 * with *?[ that is not itself an existing file. */
int cs_inputs_is_batch(const char *spec);
/* Expands spec: a folder gives its PNG and JPEG files (by extension, hidden
 * files skipped, not recursive); a glob what it matches that is not a folder;
 * @list one path per line (relative to the current folder; blank lines and
 * lines starting with # skipped). Nothing found is an error naming spec. */
clstyle_status cs_inputs_expand(const char *spec, cs_input_list *out);
void cs_inputs_free(cs_input_list *l);

/* The file name part of path without its extension: "a/b/photo.jpg" -> "photo". */
void cs_input_stem(const char *path, char *out, size_t n);
/* The result's file name: STEM[__STYLESTEM].EXT; ext "png" or "jpg" (format
 * 1 png, 2 jpg; 0: the input's, JPEG for .jpg/.jpeg inputs, else PNG). */
void cs_output_name(const char *content, const char *style, int format, char *out, size_t n);

#endif
