/* safetensors reader: bounds-checked header, tensors read on demand as float32. */
#ifndef CS_SAFETENSORS_H
#define CS_SAFETENSORS_H
#include <stdint.h>
#include <stdio.h>
#include "clstyle.h"

enum { ST_F32, ST_F16, ST_OTHER };

typedef struct {
    char *name;
    char dtype_name[16];
    int dtype;          /* ST_F32, ST_F16, ST_OTHER */
    int ndim;
    int64_t shape[8];
    uint64_t begin, end; /* byte range relative to the data section */
} st_tensor;

typedef struct {
    FILE *fp;
    char path[512];
    uint64_t file_size, data_start;
    st_tensor *tensors;
    int n;
    char arch[32];      /* __metadata__ "arch", "" when absent */
    char input[32];     /* __metadata__ "input", "" when absent */
} st_file;

clstyle_status st_open(const char *path, st_file *f);
/* The same for a file already in memory (kept by the caller until st_close); name is used in messages. */
clstyle_status st_open_memory(const void *data, size_t n, const char *name, st_file *f);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
/* Number of elements; -1 if the shape overflows. */
int64_t st_numel(const st_tensor *t);
/* Reads tensor t as float32 into out (st_numel floats), converting F16. */
clstyle_status st_read_f32(const st_file *f, const st_tensor *t, float *out);
float st_half_to_float(uint16_t h);

#endif
