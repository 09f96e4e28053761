/* Gram matrices and their gradient: CLBlast (cl_gemm.c) on GPUs, our own
 * kernels (cl/gram.cl) on CPU devices, where CLBlast's SGEMM runs at ~8-30
 * GFLOP/s on PoCL (clstyle-bench --profile) and the kernels several times
 * that: G is symmetric, so they compute one triangle in cache-sized chunks of
 * the long dimension and mirror it when summing the chunks. */
#include <string.h>

#include "cl_be.h"

enum { GB = 4, RB = 16, PX = 16 }; /* the block sizes of cl/gram.cl */

/* CLBlast where our kernels did not build (c->family_error[CL_GRAM]). */
clstyle_status cl_gram_choose(cl_be *c)
{
    const char *name = c->params.cl.gram, *broken = c->family_error[CL_GRAM];
    if (!name || !*name || !strcmp(name, "auto")) c->gram_own = (c->dev.type & CL_DEVICE_TYPE_CPU) && !broken[0];
    else if (!strcmp(name, "own")) c->gram_own = 1;
    else if (!strcmp(name, "blas")) c->gram_own = 0;
    else return cs_fail(CLSTYLE_ERR_USAGE, "unknown Gram algorithm '%s' (CLSTYLE_GRAM: auto, blas, own)", name);
    if (c->gram_own && broken[0]) return cs_fail(CLSTYLE_ERR_OPENCL, "CLSTYLE_GRAM=own cannot run: %s", broken);
    return CLSTYLE_OK;
}

/* Columns of F per chunk: the chunk's c rows take about 1 MiB, so a chunk
 * stays in a core's L2 while every block of G reads it (512 KiB was slower
 * at 512 channels: more, shorter work-items; docs/benchmarks.md). */
static int chunk_cols(int ch)
{
    int kc = 262144 / ch / PX * PX;
    return kc < 256 ? 256 : kc > 8192 ? 8192 : kc;
}

static int own_chunks(int ch, int m)
{
    int kc = chunk_cols(ch), chunks = (m + kc - 1) / kc;
    return chunks < 1 ? 1 : chunks;
}

/* Work-groups are small and set here: left to PoCL, a 512-channel layer at
 * 256 px ran as one work-group, on one of the two cores. The kernels ignore
 * the work-items past their blocks that the rounding up adds. */
static clstyle_status gram_own(cl_be *c, cs_buf *f, cs_buf *g, int ch, int m)
{
    int kc = chunk_cols(ch), chunks = own_chunks(ch, m);
    size_t nb = cl_round_up((size_t)(ch + GB - 1) / GB, 2);
    CS_TRY(cl_scratch(c, &c->parts, &c->parts_n, (size_t)chunks * ch * ch, "gram partial sums"));
    size_t global[3] = { nb, nb, (size_t)chunks }, local[3] = { 2, 2, 1 };
    ARGS(c->k.gram_blocks, A(f->m), A(c->parts), A(ch), A(m), A(kc));
    CS_TRY(cl_run(c, c->k.gram_blocks, "gram blocks", 3, global, local));
    float a = (float)(1.0 / ((double)ch * m));
    ARGS(c->k.gram_sum, A(c->parts), A(g->m), A(ch), A(chunks), A(a));
    return cl_run1d(c, c->k.gram_sum, "gram sum", (size_t)ch * ch);
}

static clstyle_status gram_bwd_own(cl_be *c, cs_buf *dg, cs_buf *f, cs_buf *df, int ch, int m)
{
    float a = (float)(2.0 / ((double)ch * m));
    size_t global[2] = { (size_t)(ch + RB - 1) / RB, cl_round_up((size_t)(m + PX - 1) / PX, 4) }, local[2] = { 1, 4 };
    ARGS(c->k.gram_bwd16, A(dg->m), A(f->m), A(df->m), A(ch), A(m), A(a));
    return cl_run(c, c->k.gram_bwd16, "gram bwd", 2, global, local);
}

clstyle_status cl_gram(cs_backend *be, cs_buf *f, cs_buf *g, int ch, int m)
{
    cl_be *c = CB(be);
    c->gram_flop += 2.0 * ch * ch * m;
    return c->gram_own ? gram_own(c, f, g, ch, m) : cl_gram_blas(c, f, g, ch, m);
}

clstyle_status cl_gram_bwd(cs_backend *be, cs_buf *dg, cs_buf *f, cs_buf *df, int ch, int m)
{
    cl_be *c = CB(be);
    c->gram_flop += 2.0 * ch * ch * m;
    return c->gram_own ? gram_bwd_own(c, dg, f, df, ch, m) : cl_gram_bwd_blas(c, dg, f, df, ch, m);
}

void cl_gram_memory(cs_backend *be, int ch, int m, size_t *scratch)
{
    cl_be *c = CB(be);
    if (c->gram_own) cs_raise(&scratch[CS_SCRATCH_PARTS], (size_t)own_chunks(ch, m) * ch * ch); /* the backward needs none */
    else cl_gram_blas_memory(c, ch, m, scratch);
}
