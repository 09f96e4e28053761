/* GEMMs through CLBlast: the convolutions' products and the Gram matrices
 * with their gradient. */
#include <string.h>

#include "cl_be.h"

static clstyle_status blas(cl_be *c, CLBlastStatusCode s, const char *what)
{
    cl_prof(c, what);
    if (s == CLBlastSuccess) return CLSTYLE_OK;
    return cl_err((cl_int)s, "CLBlastSgemm", what);
}

/* CLBlast's temporary-buffer size for a GEMM shape, remembered per shape. */
static clstyle_status temp_bytes(cl_be *c, const size_t key[11], size_t *bytes, const char *what)
{
    int i = 0;
    while (i < c->n_tmp_sizes && memcmp(c->tmp_sizes[i].key, key, sizeof c->tmp_sizes[i].key)) i++;
    if (i < c->n_tmp_sizes) {
        *bytes = c->tmp_sizes[i].bytes;
        return CLSTYLE_OK;
    }
    CLBlastTranspose TA = key[0] & 2 ? CLBlastTransposeYes : CLBlastTransposeNo, TB = key[0] & 1 ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode s = CLBlastSGemmTempBufferSize(CLBlastLayoutRowMajor, TA, TB, key[1], key[2], key[3], key[7], key[4], key[8],
                                                     key[5], key[9], key[6], &c->q, bytes);
    if (s != CLBlastSuccess) return cl_err((cl_int)s, "CLBlastSGemmTempBufferSize", what);
    if (c->n_tmp_sizes < 256) {
        memcpy(c->tmp_sizes[c->n_tmp_sizes].key, key, sizeof c->tmp_sizes[0].key);
        c->tmp_sizes[c->n_tmp_sizes++].bytes = *bytes;
    }
    return CLSTYLE_OK;
}

void cl_gemm_memory(cl_be *c, int ta, int tb, size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc, size_t a_off,
                    size_t b_off, size_t c_off, size_t *scratch)
{
    size_t key[11] = { (size_t)(ta * 2 + tb), m, n, k, lda, ldb, ldc, a_off, b_off, c_off, 1 };
    size_t bytes = 0;
    if (temp_bytes(c, key, &bytes, "GEMM scratch size") != CLSTYLE_OK) bytes = (m * k + k * n + m * n) * sizeof(float);
    cs_raise(&scratch[CS_SCRATCH_BLAS], (bytes + 3) / 4 + 1);
}

/* Row-major C = alpha op(A) op(B) + beta C through CLBlast with a temporary
 * buffer we own: without it CLBlast allocates one in every call, which costs
 * ~0.5 ms of host time per GEMM on NVIDIA's driver. */
clstyle_status cl_gemm(cl_be *c, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                       cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem cm, size_t c_off, size_t ldc, const char *what)
{
    CLBlastTranspose TA = ta ? CLBlastTransposeYes : CLBlastTransposeNo, TB = tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    size_t key[11] = { (size_t)(ta * 2 + tb), m, n, k, lda, ldb, ldc, a_off, b_off, c_off, 1 };
    size_t bytes = 0;
    CS_TRY(temp_bytes(c, key, &bytes, what));
    CS_TRY(cl_scratch(c, &c->gemm_tmp, &c->gemm_tmp_n, (bytes + 3) / 4 + 1, "GEMM scratch"));
    return blas(c, CLBlastSgemmWithTempBuffer(CLBlastLayoutRowMajor, TA, TB, m, n, k, alpha, a, a_off, lda, b, b_off, ldb, beta, cm,
                                              c_off, ldc, &c->q, cl_ev(c), c->gemm_tmp), what);
}

enum { GRAM_CHUNK = 4096 };

/* G = F F^T / (c m). F is short and very wide (c <= 512, m up to 10^6), which
 * leaves a plain GEMM with too few output tiles to fill a GPU: split the long
 * dimension into chunks, one batched GEMM for the partial products, then sum them. */
clstyle_status cl_gram_blas(cl_be *c, cs_buf *f, cs_buf *g, int ch, int m)
{
    float a = (float)(1.0 / ((double)ch * m));
    size_t cc = (size_t)ch * ch, nb = (size_t)m / GRAM_CHUNK, rest = (size_t)m % GRAM_CHUNK;
    if (nb < 2)
        return cl_gemm(c, 0, 1, (size_t)ch, (size_t)ch, (size_t)m, a, f->m, 0, (size_t)m, f->m, 0, (size_t)m, 0.0f, g->m, 0, (size_t)ch,
                       "gemm gram");
    size_t parts = nb + (rest > 0);
    CS_TRY(cl_scratch(c, &c->parts, &c->parts_n, parts * cc, "gram partial sums"));
    CS_TRY(blas(c, CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, CLBlastTransposeNo, CLBlastTransposeYes, (size_t)ch, (size_t)ch,
                                              GRAM_CHUNK, 1.0f, f->m, 0, (size_t)m, GRAM_CHUNK, f->m, 0, (size_t)m, GRAM_CHUNK, 0.0f,
                                              c->parts, 0, (size_t)ch, cc, nb, &c->q, cl_ev(c)), "gemm gram"));
    if (rest)
        CS_TRY(cl_gemm(c, 0, 1, (size_t)ch, (size_t)ch, rest, 1.0f, f->m, nb * GRAM_CHUNK, (size_t)m, f->m, nb * GRAM_CHUNK, (size_t)m,
                       0.0f, c->parts, nb * cc, (size_t)ch, "gemm gram"));
    int cci = (int)cc, np = (int)parts;
    ARGS(c->k.sum_parts, A(c->parts), A(g->m), A(cci), A(np), A(a));
    return cl_run1d(c, c->k.sum_parts, "sum_parts", cc);
}

void cl_gram_blas_memory(cl_be *c, int ch, int m, size_t *scratch)
{
    size_t cc = (size_t)ch * ch, nb = (size_t)m / GRAM_CHUNK, rest = (size_t)m % GRAM_CHUNK;
    if (nb < 2) cl_gemm_memory(c, 0, 1, (size_t)ch, (size_t)ch, (size_t)m, (size_t)m, (size_t)m, (size_t)ch, 0, 0, 0, scratch);
    else cs_raise(&scratch[CS_SCRATCH_PARTS], (nb + (rest > 0)) * cc);
    if (nb >= 2 && rest)
        cl_gemm_memory(c, 0, 1, (size_t)ch, (size_t)ch, rest, (size_t)m, (size_t)m, (size_t)ch, nb * GRAM_CHUNK, nb * GRAM_CHUNK, nb * cc,
                       scratch);
    cl_gemm_memory(c, 0, 0, (size_t)ch, (size_t)m, (size_t)ch, (size_t)ch, (size_t)m, (size_t)m, 0, 0, 0, scratch); /* the backward */
}

clstyle_status cl_gram_bwd_blas(cl_be *c, cs_buf *dg, cs_buf *f, cs_buf *df, int ch, int m)
{
    float a = (float)(2.0 / ((double)ch * m));
    return cl_gemm(c, 0, 0, (size_t)ch, (size_t)m, (size_t)ch, a, dg->m, 0, (size_t)ch, f->m, 0, (size_t)m, 1.0f, df->m, 0,
                   (size_t)m, "gemm gram bwd");
}
